import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIGURATION_DOC, renderConfigurationDoc } from './config-docs';
import { CONFIG_SLICES } from './load-config';

/** The configuration reference never drifts silently: run `npm run docs:config` and commit when this fails. */
describe('docs/configuration.md', () => {
  const committed = readFileSync(join(__dirname, '../..', CONFIGURATION_DOC), 'utf8');

  it('is what the config slices generate', () => {
    expect(committed).toBe(renderConfigurationDoc());
  });

  it('lists every declared variable once, operator settings before advanced tuning', () => {
    const names = CONFIG_SLICES.flatMap((s) => Object.keys(s.variables));
    const rows = [...committed.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect([...rows].sort()).toEqual([...names].sort());
    const advanced = committed.indexOf('## Advanced tuning');
    for (const slice of CONFIG_SLICES)
      for (const [name, variable] of Object.entries(slice.variables))
        expect({ name, operator: committed.indexOf(`| \`${name}\` |`) < advanced }).toEqual({
          name,
          operator: variable.doc.operator,
        });
  });
});
