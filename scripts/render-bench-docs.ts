import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchResults, renderResultsMarkdown } from '../bench/report';

const ROOT = join(__dirname, '..');
export const BENCH_DOC = join(ROOT, 'docs', 'benchmark.md');
export const BENCH_RESULTS = join(ROOT, 'bench', 'results.json');

// The generated section sits between these two lines; everything outside them is hand-written analysis.
export const START =
  '<!-- generated from bench/results.json by `npm run docs:bench` (also run by `npm run bench`): do not edit by hand -->';
export const END = '<!-- end of generated section -->';

/** `doc` with its generated section replaced by `generated`; throws unless both markers appear exactly once, in order. */
export function spliceGenerated(doc: string, generated: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start || doc.indexOf(START, start + 1) >= 0 || doc.indexOf(END, end + 1) >= 0) {
    throw new Error(`docs/benchmark.md must hold the markers once each, in order:\n${START}\n${END}`);
  }
  return `${doc.slice(0, start + START.length)}\n\n${generated}\n\n${doc.slice(end)}`;
}

/** docs/benchmark.md as it should read for `results` (by default, bench/results.json). */
export function renderBenchDoc(
  doc: string = readFileSync(BENCH_DOC, 'utf8'),
  results: BenchResults = JSON.parse(readFileSync(BENCH_RESULTS, 'utf8')) as BenchResults,
): string {
  return spliceGenerated(doc, renderResultsMarkdown(results));
}

/** Rewrites docs/benchmark.md's generated section; true when it changed. */
export function writeBenchDoc(results?: BenchResults): boolean {
  const before = readFileSync(BENCH_DOC, 'utf8');
  const after = renderBenchDoc(before, results);
  if (after !== before) writeFileSync(BENCH_DOC, after);
  return after !== before;
}

/** `npm run docs:bench` rewrites the section; `-- --check` only says whether it matches bench/results.json. */
if (require.main === module) {
  if (process.argv.includes('--check')) {
    const stale = renderBenchDoc() !== readFileSync(BENCH_DOC, 'utf8');
    process.stdout.write(
      stale ? 'docs/benchmark.md is stale: run npm run docs:bench\n' : 'docs/benchmark.md is current\n',
    );
    process.exit(stale ? 1 : 0);
  }
  process.stdout.write(
    writeBenchDoc() ? 'updated docs/benchmark.md\n' : 'docs/benchmark.md already current\n',
  );
}
