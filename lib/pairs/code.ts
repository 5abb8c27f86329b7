// Docstring → code pairs, the cpt paper's data for code: a function's documentation is the query,
// the function with its documentation removed is the positive. JavaScript/TypeScript (JSDoc) and
// Python (docstrings).
import type { Pair } from './pair.js';

export interface CodeFunction {
  name: string;
  doc: string;
  code: string;
}

// The index just past the brace that closes the one at `open`, skipping strings, template literals
// and comments; -1 if it never closes.
function matchBrace(source: string, open: number): number {
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    const c = source[i]!;
    if (c === '/' && source[i + 1] === '/') i = source.indexOf('\n', i) === -1 ? source.length : source.indexOf('\n', i);
    else if (c === '/' && source[i + 1] === '*') i = source.indexOf('*/', i + 2) === -1 ? source.length : source.indexOf('*/', i + 2) + 1;
    else if (c === '"' || c === "'" || c === '`') {
      for (i++; i < source.length && source[i] !== c; i++) if (source[i] === '\\') i++;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

// The description of a JSDoc block: its lines before the first @tag, without the leading stars.
function jsdocDescription(block: string): string {
  const lines = block
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''));
  const tag = lines.findIndex((l) => l.trim().startsWith('@'));
  return (tag === -1 ? lines : lines.slice(0, tag)).join(' ').replace(/\s+/g, ' ').trim();
}

const DECLARATION =
  /^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*\(|^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)|^\s*(?:static\s+)?(?:async\s+)?([A-Za-z_$][\w$]*)\s*\([^()]*\)\s*\{/;

/** JSDoc-documented functions of a JavaScript or TypeScript source. */
export function javascriptFunctions(source: string): CodeFunction[] {
  const out: CodeFunction[] = [];
  const jsdoc = /\/\*\*[\s\S]*?\*\//g;
  for (let match = jsdoc.exec(source); match; match = jsdoc.exec(source)) {
    const after = match.index + match[0].length;
    const rest = source.slice(after, after + 400);
    const declaration = DECLARATION.exec(rest);
    if (!declaration || rest.slice(0, declaration.index).trim() !== '') continue;
    const name = declaration[1] ?? declaration[2] ?? declaration[3] ?? '';
    if (['if', 'for', 'while', 'switch', 'catch', 'function'].includes(name)) continue;
    const start = after + declaration.index + (declaration[0].length - declaration[0].trimStart().length);
    const open = source.indexOf('{', after + declaration.index + declaration[0].length - 1);
    if (open === -1) continue;
    const end = matchBrace(source, open);
    if (end === -1) continue;
    out.push({ name, doc: jsdocDescription(match[0]), code: source.slice(start, end).trim() });
  }
  return out;
}

/** Functions of a Python source whose body starts with a docstring; the code without it. */
export function pythonFunctions(source: string): CodeFunction[] {
  const lines = source.split('\n');
  const out: CodeFunction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const def = /^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/.exec(lines[i]!);
    if (!def) continue;
    const indent = def[1]!.length;
    let header = i;
    while (header < lines.length && !/:\s*(#.*)?$/.test(lines[header]!)) header++;
    let body = header + 1;
    while (body < lines.length && lines[body]!.trim() === '') body++;
    const docMatch = /^\s*[rRuU]?("""|''')/.exec(lines[body] ?? '');
    if (!docMatch) continue;
    const quote = docMatch[1]!;
    let docEnd = body;
    const firstLine = lines[body]!.slice(lines[body]!.indexOf(quote) + 3);
    if (!firstLine.includes(quote)) {
      docEnd = body + 1;
      while (docEnd < lines.length && !lines[docEnd]!.includes(quote)) docEnd++;
    }
    let end = docEnd + 1;
    while (end < lines.length && (lines[end]!.trim() === '' || lines[end]!.search(/\S/) > indent)) end++;
    const doc = lines.slice(body, docEnd + 1).join(' ').replace(/[rRuU]?("""|''')/g, ' ').replace(/\s+/g, ' ').trim();
    const code = [...lines.slice(i, header + 1), ...lines.slice(docEnd + 1, end)].join('\n').trimEnd();
    out.push({ name: def[2]!, doc, code });
    i = header;
  }
  return out;
}

/** (doc → code) pairs; duplicates, near-empty docs and identical sides dropped. */
export function codePairs(functions: readonly CodeFunction[], minDocWords = 3): Pair[] {
  const seen = new Set<string>();
  const pairs: Pair[] = [];
  for (const f of functions) {
    if (f.doc.split(/\s+/).filter(Boolean).length < minDocWords || f.code.length < 10 || f.doc === f.code) continue;
    const key = `${f.doc}\u0000${f.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push({ query: f.doc, positive: f.code });
  }
  return pairs;
}

/** The functions of a file, by its extension; none for other files. */
export function functionsOf(path: string, source: string): CodeFunction[] {
  if (/\.(m|c)?[jt]sx?$/.test(path)) return javascriptFunctions(source);
  if (/\.py$/.test(path)) return pythonFunctions(source);
  return [];
}
