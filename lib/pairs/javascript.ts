// JSDoc-documented functions of JavaScript and TypeScript, found by TypeScript's own parser (the
// compiler API; the `typescript` package, an optional peer dependency): function declarations,
// methods, and const/let/var bound to a function or arrow function. A parser, not a pattern: a
// signature with an object type or default (`opts: { x?: number } = {}`) is read whole.
import { createRequire } from 'node:module';
import type * as TS from 'typescript';

import { OPTIONAL_PACKAGES, requirePackages } from '../util/optional-packages.js';
import type { CodeFunction } from './pair.js';

let compiler: typeof TS | undefined;
function typescript(): typeof TS {
  if (!compiler) {
    requirePackages('reading JavaScript and TypeScript functions', OPTIONAL_PACKAGES.javascript);
    compiler = checkedCompiler(createRequire(import.meta.url)('typescript') as typeof TS);
  }
  return compiler;
}

// The parts of the compiler API this file uses.
const USED_FUNCTIONS = [
  'createSourceFile', 'forEachChild', 'getJSDocCommentsAndTags', 'getTextOfJSDocComment', 'isArrowFunction',
  'isFunctionDeclaration', 'isFunctionExpression', 'isIdentifier', 'isMethodDeclaration', 'isVariableStatement',
] as const;
const USED_ENUMS = ['ScriptKind', 'ScriptTarget', 'SyntaxKind'] as const;

/**
 * `loaded` (the typescript package) when it has every part this reader uses; otherwise an error
 * (code ERR_MISSING_PACKAGES) naming the version and what to install: TypeScript 7's package exports
 * no compiler API, which would otherwise surface as "reading properties of undefined".
 */
export function checkedCompiler<T>(loaded: T): T {
  // (Typed loosely so that the package's declarations never name typescript's types: a user without
  // typescript installed type-checks against them.)
  const api = loaded as Record<string, unknown> & { version?: string };
  const lacking = [...USED_FUNCTIONS.filter((name) => typeof api[name] !== 'function'), ...USED_ENUMS.filter((name) => typeof api[name] !== 'object')];
  if (lacking.length > 0)
    throw Object.assign(
      new Error(
        `reading JavaScript and TypeScript functions needs TypeScript's compiler API, which the installed typescript ` +
          `${api.version ?? '(version unknown)'} does not export (no ${lacking.join(', ')}): npm install 'typescript@>=5 <7'`,
      ),
      { code: 'ERR_MISSING_PACKAGES', missing: ['typescript'] },
    );
  return loaded;
}

function scriptKind(ts: typeof TS, fileName: string): TS.ScriptKind {
  if (/\.tsx$/i.test(fileName)) return ts.ScriptKind.TSX;
  if (/\.(m|c)?ts$/i.test(fileName)) return ts.ScriptKind.TS;
  if (/\.jsx$/i.test(fileName)) return ts.ScriptKind.JSX;
  return ts.ScriptKind.JS;
}

// The description of the JSDoc block right before a node (its text before the first @tag).
function jsdocDescription(ts: typeof TS, node: TS.Node): string | undefined {
  const blocks = ts.getJSDocCommentsAndTags(node).filter((d): d is TS.JSDoc => d.kind === ts.SyntaxKind.JSDoc);
  const last = blocks[blocks.length - 1];
  if (!last) return undefined;
  const text = ts.getTextOfJSDocComment(last.comment);
  return text ? text.replace(/\s+/g, ' ').trim() : undefined;
}

/** JSDoc-documented functions of a JavaScript or TypeScript source (`fileName`'s extension picks the dialect). */
export function javascriptFunctions(source: string, fileName = 'source.js'): CodeFunction[] {
  const ts = typescript();
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, scriptKind(ts, fileName));
  const out: CodeFunction[] = [];
  const add = (name: string, documented: TS.Node, whole: TS.Node) => {
    const doc = jsdocDescription(ts, documented);
    if (doc) out.push({ name, doc, code: source.slice(whole.getStart(file), whole.end).trim() });
  };
  const visit = (node: TS.Node) => {
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.body && node.name) {
      add(node.name.getText(file), node, node);
    } else if (ts.isVariableStatement(node)) {
      for (const declaration of node.declarationList.declarations) {
        const value = declaration.initializer;
        if (value && (ts.isArrowFunction(value) || ts.isFunctionExpression(value)) && ts.isIdentifier(declaration.name))
          add(declaration.name.text, node, node);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}
