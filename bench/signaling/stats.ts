/** The q-quantile (0..1) of `xs` by nearest rank; NaN when empty. */
export function quantile(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}
