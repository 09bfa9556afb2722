import type { Load } from './load';
import type { TokenCost } from './token-costs';

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

/** What `npm run bench` writes to bench/results.json, and all that docs/benchmark.md's generated section shows. */
export interface BenchResults {
  /** ISO time the run finished. */
  date: string;
  machine: { cpu?: string; cores: number; totalMemoryGiB: number; node: string; os: string };
  setup: {
    datastore: string;
    connections: number;
    seconds: number;
    warmupSeconds: number;
    service: string;
    fakeWechat: string;
    cpuProfiles: string[];
  };
  table: Row[];
  loads: Record<string, Omit<Load, 'windowUs'> & { windowUs?: number[] }>;
  stampede: { statuses: Record<string, number> };
  identityRows: {
    expectedOpenids: number;
    duplicated: { openid: string; rows: number }[];
    missing: string[];
    orphanUsers: number;
  };
  hangingLogins: { outstanding: number; sent: number };
  tokenCosts: TokenCost[];
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

/** The result table as the console shows it; the docs carry the very same text in a code block. */
export function formatTable(rows: Row[]): string {
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
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

export function printTable(rows: Row[]): void {
  process.stdout.write(`\n${formatTable(rows)}\n`);
}

const us = (value: number): string => `${value.toFixed(1)} µs`;

/**
 * The generated part of docs/benchmark.md: everything in it comes from `results` (nothing is measured or
 * estimated here), so a bench run rewrites figures and never the hand-written analysis around them.
 */
export function renderResultsMarkdown(results: BenchResults): string {
  const { machine, setup } = results;
  const loads = Object.entries(results.loads);
  const failed = loads.filter(([, l]) => l.failures > 0);
  const statuses = Object.entries(results.stampede.statuses)
    .map(([status, n]) => `${n} × ${status}`)
    .join(', ');
  const rows = results.identityRows;
  const costs = results.tokenCosts.map(
    (c) => `| ${c.alg} | ${us(c.signUs)} | ${us(c.verifyUs)} | ${us(c.cachedVerifyUs)} | ${c.bytes} |`,
  );
  return [
    `Run of ${results.date.slice(0, 10)} (\`${results.date}\`): ${machine.cores} cores ${machine.cpu ?? 'unknown CPU'}, ` +
      `${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.os}; datastore \`${setup.datastore}\`; ` +
      `${setup.connections} connections, ${setup.seconds} s measured after a ${setup.warmupSeconds} s warm-up; ` +
      `service: ${setup.service}; fake WeChat: ${setup.fakeWechat}.`,
    '',
    '```',
    formatTable(results.table),
    '```',
    '',
    `- Failed requests: ${
      failed.length === 0
        ? `none in any of the ${loads.length} loads`
        : failed.map(([name, l]) => `${name}: ${l.failures} of ${l.requests}`).join('; ')
    }.`,
    `- Stampede answers: ${statuses || 'none'}.`,
    `- Identity rows: ${rows.expectedOpenids} openids expected; ${rows.duplicated.length} duplicated, ` +
      `${rows.missing.length} missing, ${rows.orphanUsers} orphan users.`,
    `- While \`GET /auth/session\` was measured with logins hanging: ${results.hangingLogins.outstanding} logins ` +
      `kept in flight at a WeChat that never answered, ${results.hangingLogins.sent} sent in all (each re-sent once answered).`,
    `- CPU profiles: ${setup.cpuProfiles.length ? setup.cpuProfiles.join(', ') : 'none (not a profiling run)'}.`,
    '',
    'Token costs, per call in one process (`bench/token-costs.ts`):',
    '',
    '| algorithm | sign | verify | verify, token seen before | token bytes |',
    '|---|---|---|---|---|',
    ...costs,
  ].join('\n');
}
