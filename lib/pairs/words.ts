// Words and sentences of the documents pairs are cut from. Scripts that put spaces between words
// (Latin, Cyrillic, Greek, ...) are counted between spaces and cut where the caller's rule says (. ! ?
// before a capital), the rules every measured table of the README was made with. Scripts that do not (Han, Kana, Thai, Lao,
// Khmer, Myanmar) have no spaces to count: a text holding them is counted and cut by Intl.Segmenter
// (ICU's dictionary-based word and sentence boundaries), so that Chinese or Thai text makes passages
// instead of one "word" a paragraph and no pairs at all.

const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

let segmenters: { word: Intl.Segmenter; sentence: Intl.Segmenter } | undefined;
function icu() {
  segmenters ??= {
    word: new Intl.Segmenter('und', { granularity: 'word' }),
    sentence: new Intl.Segmenter('und', { granularity: 'sentence' }),
  };
  return segmenters;
}

/** The number of words of `text`. */
export function wordCount(text: string): number {
  if (!UNSPACED_SCRIPT.test(text)) return text.split(/\s+/).filter(Boolean).length;
  let words = 0;
  for (const segment of icu().word.segment(text)) if (segment.isWordLike) words++;
  return words;
}

/** `text` (whitespace collapsed) cut into sentences: at `spacedEnd` in spaced scripts, else by ICU. */
export function sentences(text: string, spacedEnd: RegExp): string[] {
  if (!UNSPACED_SCRIPT.test(text)) return text.split(spacedEnd);
  return [...icu().sentence.segment(text)].map((s) => s.segment.trim()).filter(Boolean);
}
