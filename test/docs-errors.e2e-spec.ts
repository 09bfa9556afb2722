import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS } from '../src/common/errors/error-codes';

const API_DOC = join(__dirname, '..', 'docs', 'api.md');

/** The rows of the `## Errors` table: the codes of the first cell, the statuses of the second (`401 / 400`). */
export function errorRows(markdown: string): { codes: string[]; statuses: number[] }[] {
  const start = /^## Errors$/m.exec(markdown)?.index ?? markdown.length;
  const section = markdown.slice(start);
  const end = section.indexOf('\n## ');
  return (end < 0 ? section : section.slice(0, end))
    .split('\n')
    .filter((line) => /^\| `[A-Z]/.test(line))
    .map((line) => {
      const [codes, statuses] = line.split('|').slice(1, 3);
      return {
        codes: [...codes.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]),
        statuses: [...statuses.matchAll(/\d{3}/g)].map((m) => Number(m[0])),
      };
    });
}

/** The catalogue a client switches on is the one in the code: add a row to docs/api.md with every new code. */
describe('docs/api.md error catalogue', () => {
  const rows = errorRows(readFileSync(API_DOC, 'utf8'));
  const documented = new Map(rows.flatMap((row) => row.codes.map((code, i) => [code, { row, i }] as const)));

  it('lists every code of src/common/errors/error-codes.ts, and no other', () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('gives each code its status (`A` / `B` rows pair them in order; one code may be answered with several)', () => {
    const wrong = Object.entries(ERRORS).flatMap(([code, { status }]) => {
      const entry = documented.get(code);
      if (!entry) return [];
      const { row, i } = entry;
      const ok =
        row.codes.length === row.statuses.length ? row.statuses[i] === status : row.statuses.includes(status);
      return ok ? [] : [`${code}: ${status} in the code, ${row.statuses.join(' / ')} in docs/api.md`];
    });
    expect(wrong).toEqual([]);
  });

  it('reads the table it checks (a changed layout fails here, not silently)', () => {
    expect(rows.length).toBeGreaterThan(20);
    expect(
      errorRows(
        '## Errors\n\n| code | status |\n|---|---|\n| `A_B` / `C` | 413 / 415 |\n| `D` | 401 / 400 |\n',
      ),
    ).toEqual([
      { codes: ['A_B', 'C'], statuses: [413, 415] },
      { codes: ['D'], statuses: [401, 400] },
    ]);
  });
});
