import type { Load } from './load';

/** PASS/MISS: the target is met or not; FAIL: a request that had to succeed did not (the run exits non-zero). */
export type Result = 'PASS' | 'MISS' | 'FAIL' | '';

export interface Row {
  scenario: string;
  service: string;
  baseline?: string;
  ratio?: string;
  target: string;
  result: Result;
}

/** FAIL when any of `loads` had a failure, else PASS/MISS by `met` (nothing without a target). */
export function verdict(load: Load, met?: boolean, ...alsoRequired: Load[]): Result {
  if ([load, ...alsoRequired].some((l) => l.failures > 0)) return 'FAIL';
  if (met === undefined) return '';
  return met ? 'PASS' : 'MISS';
}

export const perSecond = (load: Load): string =>
  `${load.rps.toFixed(0)}/s${load.failures > 0 ? ` (${load.failures} failed)` : ''}`;
export const ms = (value: number): string => `${value.toFixed(1)} ms`;
export const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : '-');

export function printTable(rows: Row[]): void {
  const header: Row = {
    scenario: 'scenario',
    service: 'service',
    baseline: 'baseline',
    ratio: 'ratio',
    target: 'target',
    result: '',
  };
  const cells = (r: Row) => [r.scenario, r.service, r.baseline ?? '', r.ratio ?? '', r.target, r.result];
  const widths = cells(header).map((_, i) => Math.max(...[header, ...rows].map((r) => cells(r)[i].length)));
  const line = (r: Row) =>
    cells(r)
      .map((c, i) => c.padEnd(widths[i]))
      .join(' | ')
      .trimEnd();
  process.stdout.write(
    `\n${[line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n')}\n`,
  );
}
