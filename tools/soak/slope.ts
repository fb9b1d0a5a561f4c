/** The least-squares slope of `value` over `at` (ms), per hour; NaN with fewer than two points. */
export function slopePerHour(points: ReadonlyArray<{ readonly at: number; readonly value: number }>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const meanT = points.reduce((sum, { at }) => sum + at, 0) / n;
  const meanV = points.reduce((sum, { value }) => sum + value, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const { at, value } of points) {
    covariance += (at - meanT) * (value - meanV);
    variance += (at - meanT) ** 2;
  }
  return variance === 0 ? NaN : (covariance / variance) * 3_600_000;
}
