import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..');

/** README.md and every page under docs/. */
function documents(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** Lines outside fenced code blocks, with their 1-based numbers: a `#` or `[x](y)` inside a fence is code. */
function proseLines(markdown: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((line, i) => {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === undefined || fence === marker)) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's heading anchor (github-slugger): lowercase; punctuation dropped except `-` and `_`; spaces → `-`. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page offers; a repeated heading gets `-1`, `-2`, … as on GitHub. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Inline links `[text](target)` of the prose; code spans are blanked first (`f(x)` in code is not a link). */
export function links(markdown: string): { target: string; n: number }[] {
  const out: { target: string; n: number }[] = [];
  for (const { line, n } of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, (code) => code.replace(/[[\]()]/g, ' '));
    for (const m of prose.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ target: m[1], n });
    }
  }
  return out;
}

/** What is wrong with the relative links of `file` (repository-relative), one message per broken link. */
export function brokenLinks(
  file: string,
  read = (path: string) => readFileSync(join(ROOT, path), 'utf8'),
): string[] {
  const problems: string[] = [];
  for (const { target, n } of links(read(file))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check offline
    const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
    const path = pathPart === '' ? file : relative(ROOT, resolve(ROOT, dirname(file), decodeURI(pathPart)));
    const where = `${file}:${n} → ${target}`;
    if (path.startsWith('..')) {
      problems.push(`${where}: leaves the repository`);
      continue;
    }
    if (!existsSync(join(ROOT, path))) {
      problems.push(`${where}: ${path} does not exist`);
      continue;
    }
    if (anchor === undefined || !path.endsWith('.md') || statSync(join(ROOT, path)).isDirectory()) continue;
    if (!anchors(read(path)).has(anchor)) problems.push(`${where}: no heading "#${anchor}" in ${path}`);
  }
  return problems;
}

describe('documentation links', () => {
  it('covers README.md and the pages of docs/', () => {
    const files = documents();
    expect(files).toContain('README.md');
    expect(files.length).toBeGreaterThanOrEqual(9);
    // A link check that finds no links proves nothing.
    expect(
      files.reduce((sum, f) => sum + links(readFileSync(join(ROOT, f), 'utf8')).length, 0),
    ).toBeGreaterThan(50);
  });

  it('every relative link resolves: the file exists and, into markdown, the #anchor is a heading there', () => {
    expect(documents().flatMap((f) => brokenLinks(f))).toEqual([]);
  });

  it('code marked as a copy of a file is that file, byte for byte', () => {
    // `<!-- copy of: path -->` right above a fenced block: the example in the docs cannot drift from the code.
    const copies: string[] = [];
    for (const file of documents()) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        const source = /^<!-- copy of: (\S+) -->$/.exec(line)?.[1];
        if (source === undefined) return;
        let start = i + 1;
        while (lines[start] === '') start++;
        expect(`${file}:${start + 1} ${lines[start]}`).toMatch(/ ```\w*$/);
        const end = lines.indexOf('```', start + 1);
        const block = `${lines.slice(start + 1, end).join('\n')}\n`;
        expect({ file, source, block }).toEqual({
          file,
          source,
          block: readFileSync(join(ROOT, source), 'utf8'),
        });
        copies.push(source);
      });
    }
    expect(copies.length).toBeGreaterThan(0);
  });

  describe('the checker itself', () => {
    const pages: Record<string, string> = {
      'README.md': [
        '# Title',
        '## Phone number',
        '## `session_key` and open data (PIPL)',
        '## Phone number',
        '```bash',
        '# a comment, not a heading',
        'echo [not](a-link.md)',
        '```',
        'See [phone](#phone-number), [again](#phone-number-1), [open data](#session_key-and-open-data-pipl),',
        '[ok](docs/api.md#errors), [gone](docs/nowhere.md), [bad anchor](docs/api.md#nope),',
        '[comment](#a-comment-not-a-heading), `[in code](nowhere.md)`, [web](https://example.com/x.md).',
      ].join('\n'),
      'docs/api.md': '# HTTP API\n\n## Errors\n',
    };
    const read = (path: string): string => pages[path] ?? readFileSync(join(ROOT, path), 'utf8');

    it('finds anchors as GitHub makes them, numbering repeated headings', () => {
      expect([...anchors(pages['README.md'])]).toEqual([
        'title',
        'phone-number',
        'session_key-and-open-data-pipl',
        'phone-number-1',
      ]);
    });

    it('reports a missing file, a missing heading and a heading that is only a code comment', () => {
      expect(brokenLinks('README.md', read)).toEqual([
        'README.md:10 → docs/nowhere.md: docs/nowhere.md does not exist',
        'README.md:10 → docs/api.md#nope: no heading "#nope" in docs/api.md',
        'README.md:11 → #a-comment-not-a-heading: no heading "#a-comment-not-a-heading" in README.md',
      ]);
    });
  });
});
