// A training pair, the unit of contrastive pre-training: what the pair builders make, the pairs
// file holds, the trainer batches and the code-search tasks score.
export interface Pair {
  query: string;
  positive: string;
  /** Extra documents for this query's batch (hard negatives); they join every query's negatives. */
  negatives?: string[];
  /**
   * Pairs of one group are never each other's negatives (passages of one document, a function and
   * its overloads). The trainer also groups pairs that share a text.
   */
  group?: string;
}

/** A documented function of a source file: its name, its documentation, and its code without it. */
export interface CodeFunction {
  name: string;
  doc: string;
  code: string;
}
