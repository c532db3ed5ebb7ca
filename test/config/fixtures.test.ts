import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatProblem, parseConfigText } from "../../src/config/load.js";
import { MAX_YAML_BYTES } from "../../src/config/yamlSchema.js";
import { fleetConfigYaml } from "./fleetConfig.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const invalidDir = join(FIXTURES, "invalid");
const invalid = readdirSync(invalidDir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

function problemLines(text: string | Uint8Array, file: string): string[] {
  const result = parseConfigText(text, file);
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe("parseConfigText", () => {
  describe("invalid fixtures", () => {
    it("has an expected-output file for every fixture", () => {
      const expected = readdirSync(invalidDir).filter((f) => f.endsWith(".expected"));
      expect(expected.map((f) => basename(f, ".expected")).sort()).toEqual(
        invalid.map((f) => basename(f, ".yaml")),
      );
    });

    it.each(invalid)("%s reports exactly its expected problems", (file) => {
      const expected = readFileSync(join(invalidDir, `${basename(file, ".yaml")}.expected`), "utf8")
        .split("\n")
        .filter((line) => line !== "");
      expect(expected.length).toBeGreaterThan(0);
      expect(problemLines(readFileSync(join(invalidDir, file)), file)).toEqual(expected);
    });
  });

  describe("valid fixtures", () => {
    const valid = readdirSync(join(FIXTURES, "valid")).filter((f) => f.endsWith(".yaml"));
    it.each(valid)("%s resolves without problems", (file) => {
      const result = parseConfigText(readFileSync(join(FIXTURES, "valid", file)), file);
      expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
    });
  });

  describe("a file over 4 MiB", () => {
    it("is refused with its size before it is parsed", () => {
      // Not valid YAML at all: proves the size check comes first.
      const huge = new Uint8Array(MAX_YAML_BYTES + 1).fill("[".charCodeAt(0));
      expect(problemLines(huge, "huge.yaml")).toEqual([
        "huge.yaml:1:1: (file): file is 4,194,305 bytes; at most 4,194,304 bytes (4 MiB) allowed",
      ]);
    });

    it("accepts a file of exactly 4 MiB", () => {
      const head = readFileSync(join(FIXTURES, "valid", "issue-example.yaml"), "utf8");
      const padded = `${head}#${"x".repeat(MAX_YAML_BYTES - Buffer.byteLength(head) - 2)}\n`;
      expect(Buffer.byteLength(padded)).toBe(MAX_YAML_BYTES);
      expect(problemLines(padded, "padded.yaml")).toEqual([]);
    });
  });

  describe("a fleet of 10,000 models (1.5 MB)", () => {
    it("loads: the size limit leaves room for about 20,000", () => {
      const text = fleetConfigYaml(10_000);
      expect(Buffer.byteLength(text)).toBeGreaterThan(1_048_576);
      const result = parseConfigText(text, "fleet.yaml");
      expect(result.ok ? [] : result.problems.slice(0, 3).map(formatProblem)).toEqual([]);
      expect(result.ok && result.config.models.length).toBe(10_000);
      expect(Buffer.byteLength(fleetConfigYaml(20_000))).toBeLessThan(MAX_YAML_BYTES);
    });
  });
});
