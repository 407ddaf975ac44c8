/** Order statistics for the suite's figures. */

/** The q-quantile (0..1) of the samples by nearest rank; NaN when there are none. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** A figure: the median over repetitions plus the range the repetitions spanned. */
export interface Figure {
  value: number;
  min: number;
  max: number;
  reps: number[];
}

export function figureOf(reps: readonly number[]): Figure {
  return {
    value: median(reps),
    min: reps.length ? Math.min(...reps) : Number.NaN,
    max: reps.length ? Math.max(...reps) : Number.NaN,
    reps: [...reps],
  };
}
