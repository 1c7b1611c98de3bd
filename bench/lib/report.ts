/**
 * Every benchmark measures its baseline in the same run and prints one `ratio` line per result, so
 * figures from different machines or days are compared as ratios, never as raw numbers.
 *
 *   ratio <bench>/<metric> = <candidate>/<baseline> = <ratio> (target >= <t>) PASS|MISS
 */
export interface RatioResult {
  bench: string;
  metric: string;
  candidate: number;
  baseline: number;
  unit: string;
  /** `higher`: candidate/baseline should be >= target; `lower`: should be <= target. */
  better: 'higher' | 'lower';
  target?: number;
}

/** The middle value (the upper one of an even count): what a benchmark reports over its rounds. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export function ratioOf(result: RatioResult): number {
  return result.candidate / result.baseline;
}

export function printRatio(result: RatioResult): void {
  const ratio = ratioOf(result);
  const cmp = result.better === 'higher' ? '>=' : '<=';
  const verdict =
    result.target === undefined
      ? ''
      : (result.better === 'higher' ? ratio >= result.target : ratio <= result.target)
        ? ' PASS'
        : ' MISS';
  const target = result.target === undefined ? '' : ` (target ${cmp} ${result.target})`;
  console.log(
    `ratio ${result.bench}/${result.metric} = ${fmt(result.candidate)} / ${fmt(result.baseline)} ${result.unit} = ${ratio.toFixed(3)}${target}${verdict}`,
  );
}

/** A figure that is not a ratio (p99, RSS, counts), printed for the note. */
export function printFigure(bench: string, metric: string, value: number, unit: string): void {
  console.log(`figure ${bench}/${metric} = ${fmt(value)} ${unit}`);
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 3 : 1);
}
