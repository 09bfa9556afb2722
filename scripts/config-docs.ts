import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIGURATION_DOC, renderConfigurationDoc } from '../src/config/config-docs';

/** `npm run docs:config`: docs/configuration.md from the config slices' declarations (commit the result). */
const file = join(__dirname, '..', CONFIGURATION_DOC);
writeFileSync(file, renderConfigurationDoc());
process.stdout.write(`wrote ${file}\n`);
