// Identifiers split into words, so that prose and code meet: a docstring's "matrix inverse" and the
// name inv_matrix share "matrix" once the name is cut at its underscore. BPE alone cuts inv_matrix
// into pieces ("inv", "_matrix") that no English sentence contains. Handles snake_case, camelCase
// and PascalCase (with acronyms: parseHTTPResponse → parse http response), digits, and dotted paths
// (np.linalg.inv → np linalg inv).

// An identifier, possibly dotted: at least one of its parts has an underscore, a lower-to-upper
// case change, or a dot between parts (a plain word gains nothing from splitting).
const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*/g;
// Word boundaries inside a part: aB, ABc (the end of an acronym), a letter next to a digit.
const CASE_BOUNDARY = /(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/;

/** The words of one identifier, lower-cased: `inv_matrix` → ['inv', 'matrix']; a plain word → []. */
export function identifierWords(identifier: string): string[] {
  const words = identifier
    .split(/[._$]+/)
    .flatMap((part) => part.split(CASE_BOUNDARY))
    .map((w) => w.toLowerCase())
    .filter((w) => w.length > 0);
  return words.length > 1 ? words : [];
}

// What can split: a separator, a case change, a letter next to a digit. Prose is mostly words with
// none of these, and the test skips them before any splitting (the tokenizer runs this on every text
// of every training step).
const SPLITTABLE = /[._$]|[a-z][A-Z]|[A-Z]{2}[a-z]|[A-Za-z][0-9]|[0-9][A-Za-z]/;

/** The words of every compound identifier in a text, in order (a text of plain words gives none). */
export function splitIdentifiers(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(IDENTIFIER)) if (SPLITTABLE.test(match[0])) out.push(...identifierWords(match[0]));
  return out;
}
