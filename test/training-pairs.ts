// Pairs with a learnable relation for the trainer's tests: a query names a topic, its positive
// elaborates on it; every third pair has a hard negative (another topic's text) and twins share a
// text, so that masking and the hard-negative columns take part.
import type { Pair } from '../lib/train/pairs-file.js';

export const TOPICS = ['apples', 'rivers', 'engines', 'violins', 'glaciers', 'comets', 'bridges', 'tulips', 'falcons', 'deserts', 'harbors', 'lanterns'];

export function trainingPairs(): Pair[] {
  return TOPICS.flatMap((topic, t) =>
    Array.from({ length: 8 }, (_, k) => ({
      query: k === 7 ? `notes on ${topic} number 6` : `notes on ${topic} number ${k}`,
      positive: `${topic} ${TOPICS[(t + k) % TOPICS.length]} detail ${k} about ${topic}`,
      ...(k % 3 === 0 ? { negatives: [`${TOPICS[(t + 5) % TOPICS.length]} detail ${k} about ${TOPICS[(t + 1) % TOPICS.length]}`] } : {}),
    })),
  );
}
