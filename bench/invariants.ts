// Checks that need no reference, for shapes too large for it: the gradient of a normalised row is
// orthogonal to that row (normalisation removes the radial part), whatever the loss.

/** The largest |cos(grad_i, x_i)| over the first `rowsToCheck` rows (0 for a zero gradient row). */
export function worstGradientCosine(grad: ArrayLike<number>, x: ArrayLike<number>, dim: number, rowsToCheck = 64): number {
  let worst = 0;
  for (let i = 0; i < Math.min(rowsToCheck, x.length / dim); i++) {
    let dot = 0;
    let gn = 0;
    let xn = 0;
    for (let k = 0; k < dim; k++) {
      const g = grad[i * dim + k]!;
      const v = x[i * dim + k]!;
      dot += g * v;
      gn += g * g;
      xn += v * v;
    }
    if (gn > 0) worst = Math.max(worst, Math.abs(dot) / Math.sqrt(gn * xn));
  }
  return worst;
}
