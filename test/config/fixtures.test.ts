import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatProblem, parseConfigText } from "../../src/config/load.js";

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

  describe("a file over 1 MiB", () => {
    it("is refused with its size before it is parsed", () => {
      // Not valid YAML at all: proves the size check comes first.
      const huge = new Uint8Array(1_048_577).fill("[".charCodeAt(0));
      expect(problemLines(huge, "huge.yaml")).toEqual([
        "huge.yaml:1:1: (file): file is 1,048,577 bytes; at most 1,048,576 bytes (1 MiB) allowed",
      ]);
    });

    it("accepts a file of exactly 1 MiB", () => {
      const head = readFileSync(join(FIXTURES, "valid", "issue-example.yaml"), "utf8");
      const padded = `${head}#${"x".repeat(1_048_576 - Buffer.byteLength(head) - 2)}\n`;
      expect(Buffer.byteLength(padded)).toBe(1_048_576);
      expect(problemLines(padded, "padded.yaml")).toEqual([]);
    });
  });
});
