import { readFileSync } from 'node:fs';
import type { BenchResults } from '../bench/report';
import {
  BENCH_DOC,
  BENCH_RESULTS,
  END,
  START,
  renderBenchDoc,
  spliceGenerated,
} from '../scripts/render-bench-docs';

const doc = (): string => readFileSync(BENCH_DOC, 'utf8');
const results = (): BenchResults => JSON.parse(readFileSync(BENCH_RESULTS, 'utf8')) as BenchResults;

/** Benchmark figures in the docs come from bench/results.json only: run `npm run docs:bench` when this fails. */
describe('docs/benchmark.md figures', () => {
  it('the generated section is what bench/results.json renders to', () => {
    expect(renderBenchDoc()).toBe(doc());
  });

  it('shows every row of the result table and every token cost of the run', () => {
    const run = results();
    const section = doc().slice(doc().indexOf(START), doc().indexOf(END));
    for (const row of run.table) expect(section).toContain(row.scenario);
    for (const cost of run.tokenCosts)
      expect(section).toContain(`| ${cost.alg} | ${cost.signUs.toFixed(1)} µs |`);
    expect(section).toContain(run.date);
  });

  it('a changed figure in results.json no longer matches the committed section', () => {
    const run = results();
    const changed: BenchResults = {
      ...run,
      table: run.table.map((row, i) => (i === 0 ? { ...row, service: `${row.service}0` } : row)),
    };
    expect(renderBenchDoc(doc(), changed)).not.toBe(doc());
  });

  it('rewrites only between the markers, and refuses a document without them', () => {
    const handWritten = `# Title\n\nprose before\n\n${START}\n\nold figures\n\n${END}\n\nprose after\n`;
    expect(spliceGenerated(handWritten, 'new figures')).toBe(
      `# Title\n\nprose before\n\n${START}\n\nnew figures\n\n${END}\n\nprose after\n`,
    );
    expect(() => spliceGenerated('# no markers\n', 'x')).toThrow(/markers/);
    expect(() => spliceGenerated(`${END}\n${START}\n`, 'x')).toThrow(/markers/);
    expect(() => spliceGenerated(`${START}\n${END}\n${START}\n${END}\n`, 'x')).toThrow(/markers/);
  });
});
