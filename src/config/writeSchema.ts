import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { buildJsonSchema } from "./schema.js";

/** Where the published JSON Schema lives, next to the sample config that points at it. */
export const JSON_SCHEMA_PATH = fileURLToPath(
  new URL("../../config/keepwarm.schema.json", import.meta.url),
);

export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(JSON_SCHEMA_PATH, renderJsonSchema());
  process.stdout.write(`wrote ${JSON_SCHEMA_PATH}\n`);
}
