import { join, relative } from 'node:path';
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator';
import { ReadonlyVisitor } from '@nestjs/swagger/plugin';

/** The @nestjs/swagger CLI plugin options; nest-cli.json carries the same. */
export const SWAGGER_PLUGIN_OPTIONS = {
  introspectComments: true,
  classValidatorShim: true,
  dtoFileNameSuffix: ['.request.ts', '.response.ts', '.dto.ts'],
};

const ROOT = join(__dirname, '..');

/**
 * Runs the Swagger CLI plugin over src/ and writes what it found to
 * `<outputDir>/<filename>`, so ts-jest and ts-node (which cannot run compiler
 * plugins) load the same metadata as `nest build`.
 */
export function generateSwaggerMetadata(
  outputDir = join(ROOT, 'src'),
  filename = 'swagger-metadata.ts',
): void {
  new PluginMetadataGenerator().generate({
    visitors: [new ReadonlyVisitor({ ...SWAGGER_PLUGIN_OPTIONS, pathToSource: join(ROOT, 'src') })],
    outputDir,
    filename,
    watch: false,
    // Relative to process.cwd(), as the generator wants it.
    tsconfigPath: relative(process.cwd(), join(ROOT, 'tsconfig.build.json')),
    printDiagnostics: false,
  });
}

if (require.main === module) generateSwaggerMetadata();
