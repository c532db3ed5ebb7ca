import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../../src/domain/units.js";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { noopObserver } from "../../../src/runtime/infra/observer.js";
import {
  countingPings,
  PING_COUNTS_FILE,
  PingCounts,
  readPingCounts,
} from "../../../src/runtime/state/pingCounts.js";
import { fullDisk } from "./fullDisk.js";

const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
const OTHER_ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/a1b2c3d4e5f6";
const NOW = Date.parse("2026-12-07T09:00:00Z");

function counts(dir: string, owner: string, fs?: Parameters<typeof fullDisk>[0]) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const log = createLogger({ destination: sink });
  const disk = fs === undefined ? undefined : fullDisk(fs);
  const book = new PingCounts({ stateDir: dir, owner: () => owner, log, fs: disk?.fs });
  return { book, lines };
}

describe("PingCounts", () => {
  it("counts successes and ModelNotReady answers per 5-minute bucket, and reads them back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-pings-"));
    const { book } = counts(dir, "host/1/a");
    book.record("mimo-vl", ARN, "not-ready", NOW);
    book.record("mimo-vl", ARN, "not-ready", NOW + 5_000);
    book.record("mimo-vl", ARN, "ok", NOW + 90_000);
    book.record("mimo-vl", ARN, "ok", NOW + 14 * MINUTE_MS);
    book.record("mimo-vl", ARN, "throttled", NOW + 15 * MINUTE_MS);
    await book.flush(NOW + 20 * MINUTE_MS, true);
    expect(readdirSync(dir)).toEqual([PING_COUNTS_FILE]);
    const read = await readPingCounts(dir);
    expect(read.problem).toBeUndefined();
    const own = read.countsOf("mimo-vl", ARN);
    expect(own?.since).toBe(NOW);
    expect([...(own?.ok ?? [])]).toEqual([
      [NOW, 1],
      [NOW + 10 * MINUTE_MS, 1],
    ]);
    expect([...(own?.notReady ?? [])]).toEqual([[NOW, 2]]);
    expect(read.countsOf("mimo-vl", OTHER_ARN)).toBeUndefined();
  });

  it("writes at most once an hour unless forced, and keeps each daemon's counts apart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-pings-"));
    const a = counts(dir, "host/1/a");
    const b = counts(dir, "host/2/b");
    a.book.record("mimo-vl", ARN, "ok", NOW);
    await a.book.flush(NOW);
    a.book.record("mimo-vl", ARN, "ok", NOW + MINUTE_MS);
    await a.book.flush(NOW + 30 * MINUTE_MS);
    expect([...((await readPingCounts(dir)).countsOf("mimo-vl", ARN)?.ok ?? [])]).toEqual([
      [NOW, 1],
    ]);
    // A replica (or the next start) counting the same model: both are keepwarm's.
    b.book.record("mimo-vl", ARN, "ok", NOW + 2 * MINUTE_MS);
    await b.book.flush(NOW + 40 * MINUTE_MS);
    await a.book.flush(NOW + HOUR_MS);
    expect([...((await readPingCounts(dir)).countsOf("mimo-vl", ARN)?.ok ?? [])]).toEqual([
      [NOW, 3],
    ]);
  });

  it("drops counts older than CloudWatch's 63 days of 5-minute data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-pings-"));
    const { book } = counts(dir, "host/1/a");
    book.record("mimo-vl", ARN, "ok", NOW);
    book.record("mimo-vl", ARN, "ok", NOW + 70 * DAY_MS);
    await book.flush(NOW + 70 * DAY_MS, true);
    const own = (await readPingCounts(dir)).countsOf("mimo-vl", ARN);
    expect([...(own?.ok ?? [])]).toEqual([[NOW + 70 * DAY_MS, 1]]);
    expect(own?.since).toBeGreaterThan(NOW + 6 * DAY_MS);
  });

  it("stays compact: two months of a 14-minute grid are a few hundred bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-pings-"));
    const { book } = counts(dir, "host/1/a");
    for (let t = NOW; t < NOW + 60 * DAY_MS; t += 14 * MINUTE_MS)
      book.record("mimo-vl", ARN, "ok", t);
    await book.flush(NOW + 60 * DAY_MS, true);
    expect(statSync(join(dir, PING_COUNTS_FILE)).size).toBeLessThan(1_000);
  });

  it("logs a write that fails and writes again at the next hour", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-pings-"));
    const { book, lines } = counts(dir, "host/1/a", 10);
    book.record("mimo-vl", ARN, "ok", NOW);
    await book.flush(NOW, true);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: "state-write-failed", path: join(dir, PING_COUNTS_FILE) }),
    );
  });

  it("replaces a file that is not its own, saying so, and refuses one that is not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-pings-"));
    writeFileSync(join(dir, PING_COUNTS_FILE), "not json");
    expect((await readPingCounts(dir)).problem).toMatch(/is not JSON/);
    const { book, lines } = counts(dir, "host/1/a");
    book.record("mimo-vl", ARN, "ok", NOW);
    await book.flush(NOW, true);
    expect(lines).toContainEqual(expect.objectContaining({ event: "state-file-ignored" }));
    expect(JSON.parse(readFileSync(join(dir, PING_COUNTS_FILE), "utf8")).format).toBe(
      "keepwarm-ping-counts/1",
    );
    expect((await readPingCounts(mkdtempSync(join(tmpdir(), "kw-pings-")))).problem).toBe(
      "no such file",
    );
  });
});

describe("countingPings", () => {
  it("counts each request the daemon reports under the model's ARN, and passes it on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-pings-"));
    const { book } = counts(dir, "host/1/a");
    const seen: string[] = [];
    const observer = countingPings(
      { ...noopObserver, pingResult: (m, r) => seen.push(`${m}:${r}`) },
      book,
      () => NOW,
      (name) => (name === "mimo-vl" ? ARN : undefined),
    );
    observer.pingResult("mimo-vl", "ok");
    observer.pingResult("gone", "ok");
    await book.flush(NOW, true);
    expect(seen).toEqual(["mimo-vl:ok", "gone:ok"]);
    expect([...((await readPingCounts(dir)).countsOf("mimo-vl", ARN)?.ok ?? [])]).toEqual([
      [NOW, 1],
    ]);
  });
});
