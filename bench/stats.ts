/**
 * Latency percentiles and the run's time series (pure functions, specced).
 * Samples come as typed arrays: a run records millions of them.
 */

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** One slice of the run, for the chart. */
export interface SeriesPoint {
  /** Start of the slice, ms after the start signal. */
  readonly atMs: number;
  readonly deliveriesPerSecond: number;
  /** Latency of the deliveries received in this slice (ms); absent when none were. */
  readonly latency?: Percentiles;
}

/** Nearest-rank percentile (the smallest sample with at least p% of samples at or below it) of ascending `sorted`. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Percentiles of the samples (sorted here, in a copy). */
export function percentiles(samples: Float32Array): Percentiles {
  const sorted = samples.slice().sort();
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}

/**
 * Splits [0, spanMs) into `slices` equal slices and gives, for each, the
 * delivery rate and the latency of what arrived in it. The samples need not
 * be in order: they are grouped by slice first (a counting sort).
 */
export function timeSeries(receivedAtMs: Float32Array, latencyMs: Float32Array, spanMs: number, slices: number): SeriesPoint[] {
  const width = spanMs / slices;
  const sliceOf = (at: number) => Math.min(slices - 1, Math.max(0, Math.floor(at / width)));
  const starts = new Uint32Array(slices + 1);
  for (const at of receivedAtMs) starts[sliceOf(at) + 1]! += 1;
  for (let i = 1; i <= slices; i++) starts[i]! += starts[i - 1]!;
  const grouped = new Float32Array(latencyMs.length);
  const next = starts.slice(0, slices);
  receivedAtMs.forEach((at, i) => {
    grouped[next[sliceOf(at)]!++] = latencyMs[i]!;
  });
  return Array.from({ length: slices }, (_, i) => {
    const slice = grouped.subarray(starts[i]!, starts[i + 1]!);
    return {
      atMs: i * width,
      deliveriesPerSecond: (slice.length * 1000) / width,
      ...(slice.length > 0 && { latency: percentiles(slice) }),
    };
  });
}
