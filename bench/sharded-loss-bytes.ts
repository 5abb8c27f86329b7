// What a rank sends in one step of the sharded loss, and of its peers' designs (bench/distributed.ts,
// bench/data-parallel.ts).

/** Bytes a rank sends in one step of each design, W ranks, a batch of N pairs, b bytes an element. */
export function bytesPerRank(W: number, n: number, d: number, b: number) {
  const share = (W - 1) / W;
  // Ours: gather Y, reduce-scatter dY (fp32 gradients), the column statistics (a max in 4 bytes and a
  // sum in 8, all-reduced: twice a ring's share), the rows' targets (4 bytes a row, all-gathered).
  const ours = share * n * d * b + share * n * d * 4 + 2 * share * n * (4 + 8) + share * n * 4;
  // OpenCLIP (gather_with_grad, local_loss): gather X and Y; the backward reduce-scatters both gradients.
  const openClip = 2 * share * n * d * b + 2 * share * n * d * 4;
  // Inf-CL's ring: Y passes round in the forward; the backward sends the keys again with their partial gradients.
  const infCl = share * n * d * b + share * n * d * (b + 4);
  return { ours, openClip, infCl };
}
