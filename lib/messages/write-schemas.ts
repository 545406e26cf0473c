/**
 * `npm run schemas`: writes the published JSON Schema of every command into `schemas/`. The files are committed;
 * `test/integration/lib/messages/json-schema.test.ts` fails when they no longer match the zod schemas.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { commandJsonSchemas, renderJsonSchema } from './json-schema.ts';

const dir = fileURLToPath(new URL('../../schemas/', import.meta.url));
await mkdir(dir, { recursive: true });
for (const [file, schema] of Object.entries(commandJsonSchemas())) {
  await writeFile(`${dir}${file}`, renderJsonSchema(schema));
  console.log(`wrote schemas/${file}`);
}
