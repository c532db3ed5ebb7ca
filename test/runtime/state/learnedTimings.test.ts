import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { LearnedTimings, TIMINGS_FILE } from "../../../src/runtime/state/learnedTimings.js";

const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
const OTHER_ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/a1b2c3d4e5f6";
const NOW = Date.parse("2026-12-07T10:00:00Z");

function store(dir = mkdtempSync(join(tmpdir(), "kw-timings-"))) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { dir, lines, learned: new LearnedTimings(dir, createLogger({ destination: sink })) };
}

describe("LearnedTimings", () => {
  it("keeps measurements across a restart, in one file written whole", async () => {
    const a = store();
    await a.learned.load();
    a.learned.addRestore("mimo-vl", ARN, { at: NOW, ms: 92_000 });
    a.learned.addEviction("mimo-vl", ARN, {
      at: NOW,
      lastCallAt: NOW - 900_000,
      ms: 840_000,
      bound: "measured",
    });
    await a.learned.flush();
    expect(readdirSync(a.dir)).toEqual([TIMINGS_FILE]);

    const b = store(a.dir);
    await b.learned.load();
    expect(b.learned.observationsOf("mimo-vl", ARN)).toEqual({
      modelArn: ARN,
      restores: [{ at: NOW, ms: 92_000 }],
      evictions: [{ at: NOW, lastCallAt: NOW - 900_000, ms: 840_000, bound: "measured" }],
    });
    expect(b.lines).toEqual([]);
  });

  it("forgets a model's measurements when its ARN changes", async () => {
    const a = store();
    a.learned.addRestore("mimo-vl", ARN, { at: NOW, ms: 92_000 });
    expect(a.learned.observationsOf("mimo-vl", OTHER_ARN)).toEqual({ evictions: [], restores: [] });
    a.learned.addRestore("mimo-vl", OTHER_ARN, { at: NOW, ms: 30_000 });
    expect(a.learned.observationsOf("mimo-vl", OTHER_ARN).restores).toEqual([
      { at: NOW, ms: 30_000 },
    ]);
    expect(a.learned.observationsOf("mimo-vl", ARN)).toEqual({ evictions: [], restores: [] });
  });

  it.each([
    ["not JSON", "{ half"],
    ["someone else's JSON", JSON.stringify({ models: {} })],
    [
      "a malformed entry",
      JSON.stringify({
        format: "keepwarm-learned-timings/1",
        models: { "mimo-vl": { modelArn: ARN, evictions: [{ at: "x" }], restores: [] } },
      }),
    ],
  ])("reports a file that is %s and starts over without it", async (_what, text) => {
    const s = store();
    writeFileSync(join(s.dir, TIMINGS_FILE), text);
    await s.learned.load();
    expect(s.learned.observationsOf("mimo-vl", ARN)).toEqual({ evictions: [], restores: [] });
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatchObject({
      event: "state-file-ignored",
      path: join(s.dir, TIMINGS_FILE),
    });
    // The next write replaces it with a good one.
    s.learned.addRestore("mimo-vl", ARN, { at: NOW, ms: 1_000 });
    await s.learned.flush();
    expect(JSON.parse(readFileSync(join(s.dir, TIMINGS_FILE), "utf8")).format).toBe(
      "keepwarm-learned-timings/1",
    );
  });

  it("merges what another replica on the same state directory wrote, losing neither's samples", async () => {
    const a = store();
    const b = store(a.dir);
    await a.learned.load();
    await b.learned.load();
    const eviction = (at: number) => ({
      at,
      lastCallAt: at - 900_000,
      ms: 840_000,
      bound: "measured" as const,
    });
    a.learned.addRestore("mimo-vl", ARN, { at: NOW, ms: 92_000 });
    a.learned.addEviction("mimo-vl", ARN, eviction(NOW));
    b.learned.addRestore("mimo-vl", ARN, { at: NOW + 60_000, ms: 95_000 });
    b.learned.addRestore("llama", OTHER_ARN, { at: NOW, ms: 30_000 });
    await a.learned.flush();
    await b.learned.flush();
    // A writes again after B: B's samples stay.
    a.learned.addEviction("mimo-vl", ARN, eviction(NOW + 120_000));
    await a.learned.flush();

    const c = store(a.dir);
    await c.learned.load();
    expect(c.learned.observationsOf("mimo-vl", ARN)).toEqual({
      modelArn: ARN,
      restores: [
        { at: NOW, ms: 92_000 },
        { at: NOW + 60_000, ms: 95_000 },
      ],
      evictions: [eviction(NOW), eviction(NOW + 120_000)],
    });
    expect(c.learned.observationsOf("llama", OTHER_ARN).restores).toEqual([
      { at: NOW, ms: 30_000 },
    ]);
    expect([...a.lines, ...b.lines]).toEqual([]);
  });

  it("does not take back from the file a model a reload dropped", async () => {
    const a = store();
    const b = store(a.dir);
    b.learned.addRestore("gone", ARN, { at: NOW, ms: 1_000 });
    await b.learned.flush();
    await a.learned.load();
    a.learned.retain(new Set(["mimo-vl"]));
    a.learned.addRestore("mimo-vl", ARN, { at: NOW, ms: 92_000 });
    await a.learned.flush();
    const c = store(a.dir);
    await c.learned.load();
    expect(c.learned.observationsOf("gone", ARN)).toEqual({ evictions: [], restores: [] });
  });

  it("logs a failed write with the path and tries again at the next flush", async () => {
    const s = store();
    // A file where the state directory should be: mkdir fails with ENOTDIR/EEXIST.
    const blocked = join(s.dir, "blocked");
    writeFileSync(blocked, "");
    const lines: Record<string, unknown>[] = [];
    const logging = new LearnedTimings(
      join(blocked, "state"),
      createLogger({
        destination: new Writable({
          write(chunk: Buffer, _e, done) {
            for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
            done();
          },
        }),
      }),
    );
    logging.addRestore("m", ARN, { at: NOW, ms: 1 });
    await logging.flush();
    expect(lines[0]).toMatchObject({ event: "state-write-failed", retry: "at the next minute" });
    await logging.flush();
    expect(lines).toHaveLength(2);
  });
});
