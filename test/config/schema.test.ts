import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildJsonSchema } from "../../src/config/schema.js";
import { JSON_SCHEMA_PATH, renderJsonSchema } from "../../src/config/writeSchema.js";

interface JsonSchemaNode {
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  additionalProperties?: JsonSchemaNode | boolean;
  anyOf?: JsonSchemaNode[];
}

function fieldsWithoutDescription(node: JsonSchemaNode, path: string): string[] {
  const missing: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (!child.description) missing.push(`${path}.${key}`);
    missing.push(...fieldsWithoutDescription(child, `${path}.${key}`));
  }
  if (node.items) missing.push(...fieldsWithoutDescription(node.items, `${path}[]`));
  if (typeof node.additionalProperties === "object") {
    missing.push(...fieldsWithoutDescription(node.additionalProperties, `${path}.*`));
  }
  for (const option of node.anyOf ?? []) missing.push(...fieldsWithoutDescription(option, path));
  return missing;
}

describe("configSchema", () => {
  describe("buildJsonSchema", () => {
    it("matches the checked-in config/keepwarm.schema.json (run `npm run schema` if not)", () => {
      expect(readFileSync(JSON_SCHEMA_PATH, "utf8")).toBe(renderJsonSchema());
    });

    it("is draft-07 and closed to unknown keys at the top", () => {
      const schema = buildJsonSchema();
      expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
      expect(schema.additionalProperties).toBe(false);
      expect(schema.required).toEqual(["models"]);
    });

    it("describes every field", () => {
      expect(fieldsWithoutDescription(buildJsonSchema() as JsonSchemaNode, "")).toEqual([]);
    });

    it("carries the defaults an editor shows", () => {
      const schema = buildJsonSchema() as {
        properties: { defaults: { properties: Record<string, { default?: unknown }> } };
      };
      const d = schema.properties.defaults.properties;
      expect([d.cadence?.default, d.leadTime?.default, d.evictionDelay?.default]).toEqual([
        "auto",
        "auto",
        "auto",
      ]);
    });
  });
});
