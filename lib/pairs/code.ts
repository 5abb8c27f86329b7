// Docstring → code pairs, the cpt paper's data for code: a function's documentation is the query,
// the function with its documentation removed is the positive. JavaScript/TypeScript (JSDoc, read by
// TypeScript's parser: javascript.ts) and Python (docstrings).
import { javascriptFunctions } from './javascript.js';
import type { CodeFunction, Pair } from './pair.js';

export { javascriptFunctions, type CodeFunction };

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
  if (/\.(m|c)?[jt]sx?$/.test(path)) return javascriptFunctions(source, path);
  if (/\.py$/.test(path)) return pythonFunctions(source);
  return [];
}
