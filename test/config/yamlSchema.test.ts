import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatPath, formatProblem } from "../../src/config/problems.js";
import { editDistance, suggestClosest } from "../../src/config/suggest.js";
import { MAX_YAML_DEPTH, parseYamlWithSchema } from "../../src/config/yamlSchema.js";

const schema = z.strictObject({
  when: z.string().optional(),
  at: z.string().optional(),
  flag: z.string().optional(),
  items: z
    .array(z.strictObject({ size: z.number().min(1), kind: z.enum(["big", "small"]) }))
    .optional(),
});

function problems(text: string | Uint8Array, opts = {}): string[] {
  const result = parseYamlWithSchema(text, "t.yaml", schema, opts);
  return result.ok ? [] : result.problems.map(formatProblem);
}

function value(text: string): unknown {
  const result = parseYamlWithSchema(text, "t.yaml", schema);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join("\n"));
  return result.value;
}

describe("parseYamlWithSchema", () => {
  describe("YAML 1.2 core schema", () => {
    it("keeps dates, date-times, sexagesimal-looking times and yes/no as strings", () => {
      expect(value("when: 2026-12-25\nat: 2026-12-01T00:00\nflag: yes\n")).toEqual({
        when: "2026-12-25",
        at: "2026-12-01T00:00",
        flag: "yes",
      });
      expect(value("at: 09:00\n")).toEqual({ at: "09:00" });
    });

    it("treats a merge key as an ordinary (unknown) key", () => {
      expect(problems("base: &b {when: x}\n<<: *b\n")).toEqual([
        't.yaml:1:1: base: unknown key "base"; allowed keys: when, at, flag, items',
        't.yaml:2:1: ["<<"]: unknown key "<<"; allowed keys: when, at, flag, items',
      ]);
    });

    it("accepts a byte-order mark and a few aliases", () => {
      expect(value("\uFEFFwhen: &w x\nat: *w\n")).toEqual({ when: "x", at: "x" });
    });
  });

  describe("locations", () => {
    it("reports every schema problem at once at its node", () => {
      const text = "items:\n  - size: 0\n    kind: smal\n  - {kind: small, colour: red}\nflg: x\n";
      expect(problems(text)).toEqual([
        "t.yaml:2:11: items[0].size: is 0; must be at least 1",
        't.yaml:3:11: items[0].kind: is "smal"; did you mean "small"? allowed: big, small',
        "t.yaml:4:5: items[1].size: missing; required: a number",
        't.yaml:4:19: items[1].colour: unknown key "colour"; allowed keys: size, kind',
        't.yaml:5:1: flg: unknown key "flg"; did you mean "flag"?',
      ]);
    });

    it("counts columns in characters, not UTF-16 units or bytes", () => {
      expect(problems('items: [{kind: "\u{1F600}\u540D", size: 0}]\n')).toEqual([
        't.yaml:1:16: items[0].kind: is "\u{1F600}\u540D"; allowed: big, small',
        "t.yaml:1:28: items[0].size: is 0; must be at least 1",
      ]);
      expect(problems("when: [\u{1F600}\u540D, x]\n")).toEqual([
        "t.yaml:1:7: when: is a list; expected a string",
      ]);
    });

    it("locates invalid UTF-8 at the bad byte", () => {
      const bytes = Buffer.concat([
        Buffer.from("when: caf\u00e9\nat: \u540D"),
        Buffer.from([0xe5, 0x90]),
        Buffer.from("\n"),
      ]);
      expect(problems(bytes)).toEqual([
        "t.yaml:2:6: (file): invalid UTF-8 (byte 0xe5 at offset 19); the file must be UTF-8 text",
      ]);
    });

    it.each([
      ["overlong encoding", [0xc0, 0xaf]],
      ["surrogate", [0xed, 0xa0, 0x80]],
      ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
      ["lone continuation byte", [0x80]],
    ])("refuses a %s", (_what, bad) => {
      const bytes = Buffer.concat([Buffer.from("when: "), Buffer.from(bad)]);
      expect(problems(bytes)[0]).toMatch(/^t\.yaml:1:7: \(file\): invalid UTF-8/);
    });
  });

  describe("file-level problems", () => {
    it.each([
      [
        "",
        "t.yaml:1:1: (file): file is empty; expected a mapping with the keys when, at, flag, items",
      ],
      [
        "# only a comment\n",
        "t.yaml:1:1: (file): file is empty; expected a mapping with the keys when, at, flag, items",
      ],
      [
        "- a\n",
        "t.yaml:1:1: (file): top level is a list; expected a mapping with the keys when, at, flag, items",
      ],
      [
        "just text\n",
        't.yaml:1:1: (file): top level is "just text"; expected a mapping with the keys when, at, flag, items',
      ],
      [
        "when: x\nwhen: y\n",
        "t.yaml:2:1: (file): YAML syntax error: Map keys must be unique; the file must be valid YAML 1.2",
      ],
      [
        "when: x\n---\nat: y\n",
        "t.yaml:2:1: (file): YAML syntax error: Source contains multiple documents; please use YAML.parseAllDocuments(); the file must be valid YAML 1.2",
      ],
    ])("reports %j", (text, expected) => {
      expect(problems(text)).toEqual([expected]);
    });

    it("refuses input over the size limit before parsing it", () => {
      expect(problems("when: [", { maxBytes: 6 })).toEqual([
        "t.yaml:1:1: (file): file is 7 bytes; at most 6 bytes (0 KiB) allowed",
      ]);
    });

    it("stops an alias bomb at the configured count", () => {
      const text = "a: &a [x, x]\nb: &b [*a, *a, *a]\nwhen: [*b, *b, *b]\n";
      expect(problems(text, { maxAliasCount: 3 })).toEqual([
        "t.yaml:2:8: (file): aliases expand too much (Excessive alias count indicates a resource exhaustion attack); at most 3 alias expansions allowed",
      ]);
    });
  });

  describe("syntax errors", () => {
    it("reports one problem for one mistake, not every token the parser could not place after it", () => {
      // yaml reports 5 errors for this one tab, and 123 for a mis-indented first key.
      expect(problems("when: x\nitems:\n\t- size: 1\n    kind: big\n")).toEqual([
        "t.yaml:3:1: (file): YAML syntax error: Tabs are not allowed as indentation; the file must be valid YAML 1.2",
      ]);
      expect(problems(" when: x\nat: y\nflag: z\nitems:\n  - {size: 1, kind: big}\n")).toEqual([
        "t.yaml:2:1: (file): YAML syntax error: Unexpected scalar at node end; the file must be valid YAML 1.2",
      ]);
    });

    it("still reports a mistake of its own in each later top-level section", () => {
      const text = "when: [x\nat: y\nflag: {z\nitems:\n  - size: 1\n    kind: big\n  - size: [2\n";
      expect(problems(text)).toEqual([
        "t.yaml:2:1: (file): YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]; the file must be valid YAML 1.2",
        "t.yaml:4:1: (file): YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }; the file must be valid YAML 1.2",
        "t.yaml:8:1: (file): YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]; the file must be valid YAML 1.2",
      ]);
    });

    it("reports every repeated key of every mapping", () => {
      expect(
        problems("when: x\nat: y\nwhen: z\nitems:\n  - {size: 1, size: 2, kind: big}\n"),
      ).toEqual([
        "t.yaml:3:1: (file): YAML syntax error: Map keys must be unique; the file must be valid YAML 1.2",
        "t.yaml:5:15: (file): YAML syntax error: Map keys must be unique; the file must be valid YAML 1.2",
      ]);
    });
  });

  describe("nesting", () => {
    const nested = (depth: number) => `when: ${"[".repeat(depth)}${"]".repeat(depth)}\n`;

    it(`refuses brackets nested more than ${MAX_YAML_DEPTH} deep before parsing them`, () => {
      // A megabyte of "[" took the parser 45 s and a gigabyte of memory.
      expect(problems(nested(MAX_YAML_DEPTH + 1))).toEqual([
        `t.yaml:1:${7 + MAX_YAML_DEPTH}: (file): brackets nested more than ${MAX_YAML_DEPTH} deep; at most ${MAX_YAML_DEPTH} levels of [ ] and { } allowed`,
      ]);
      expect(problems("[".repeat(1_000_000))).toHaveLength(1);
    });

    it(`parses ${MAX_YAML_DEPTH} levels, and ignores brackets in comments`, () => {
      expect(problems(nested(MAX_YAML_DEPTH))).toEqual([
        "t.yaml:1:7: when: is a list; expected a string",
      ]);
      expect(problems(`# ${"[".repeat(200)}\nwhen: x # ${"{".repeat(200)}\n`)).toEqual([]);
    });
  });

  describe("problemAt", () => {
    it("locates a path after a successful parse, falling back to the nearest ancestor", () => {
      const result = parseYamlWithSchema("items:\n  - size: 2\n    kind: big\n", "t.yaml", schema);
      if (!result.ok) throw new Error("expected a valid document");
      expect(result.locate(["items", 0, "kind"])).toEqual({ line: 3, column: 11 });
      expect(result.locate(["items", 0, "missing"])).toEqual({ line: 2, column: 5 });
      expect(formatProblem(result.problemAt(["items", 0, "size"], "too small"))).toBe(
        "t.yaml:2:11: items[0].size: too small",
      );
    });
  });
});

describe("formatPath", () => {
  it.each([
    [[], "(file)"],
    [["models", 1, "policy"], "models[1].policy"],
    [["pricing", "regions", "us-east-1"], "pricing.regions.us-east-1"],
    [["policies", "a b"], 'policies["a b"]'],
  ])("%j is %s", (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe("suggestClosest", () => {
  it.each([
    ["leadtime", ["leadTime", "cadence"], "leadTime"],
    ["custmModelUnits", ["customModelUnits"], "customModelUnits"],
    ["polciy", ["policy", "name"], "policy"],
    ["colour", ["name", "policy"], undefined],
    ["ab", ["ac"], undefined],
    ["policy", ["policy"], undefined],
  ])("%s among %j is %s", (word, candidates, expected) => {
    expect(suggestClosest(word, candidates)).toBe(expected);
  });
});

describe("editDistance", () => {
  it.each([
    ["", "abc", 3],
    ["kitten", "sitting", 3],
    ["polciy", "policy", 1],
    ["same", "same", 0],
  ])("%s -> %s is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});
