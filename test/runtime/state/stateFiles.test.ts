import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  appendLine,
  parseJsonLines,
  StateFileError,
  writeFileAtomic,
} from "../../../src/runtime/state/stateFiles.js";
import { skipWithout } from "../../requiredTools.js";
import { fullDisk, tryTmpfs } from "./fullDisk.js";

const fresh = () => mkdtempSync(join(tmpdir(), "kw-state-"));
const isRecord = (v: unknown): v is { n: number } => typeof (v as { n?: unknown })?.n === "number";
const line = (n: number) => JSON.stringify({ n, pad: "x".repeat(200) });

const tmpfs = tryTmpfs();
afterAll(() => tmpfs?.unmount());

describe("appendLine", () => {
  it("on a full disk leaves the file as it was and throws with the path and errno", async () => {
    const path = join(fresh(), "summaries.jsonl");
    const { fs, disk } = fullDisk(300);
    await appendLine(path, line(1), fs);
    const before = readFileSync(path, "utf8");
    const error = await appendLine(path, line(2), fs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateFileError);
    expect(error).toMatchObject({ path, code: "ENOSPC" });
    expect((error as Error).message).toContain(path);
    expect(readFileSync(path, "utf8")).toBe(before);
    disk.free = 10_000;
    await appendLine(path, line(3), fs);
    expect(parseJsonLines(readFileSync(path, "utf8"), isRecord, '{"n":')).toMatchObject({
      records: [{ n: 1 }, { n: 3 }],
      skipped: [],
    });
  });

  it("starts on a fresh line after a fragment it could not cut off", async () => {
    const path = join(fresh(), "summaries.jsonl");
    const { fs, disk } = fullDisk(300, { failTruncate: true });
    await appendLine(path, line(1), fs);
    await expect(appendLine(path, line(2), fs)).rejects.toThrow(StateFileError);
    const torn = readFileSync(path, "utf8");
    expect(torn.endsWith("\n")).toBe(false);
    disk.free = 10_000;
    await appendLine(path, line(3), fs);
    const text = readFileSync(path, "utf8");
    expect(text.split("\n")[2]).toBe(line(3));
    const parsed = parseJsonLines(text, isRecord, '{"n":');
    expect(parsed.records.map((r) => r.n)).toEqual([1, 3]);
    expect(parsed.skipped.map((s) => s.line)).toEqual([2]);
  });

  it.skipIf(skipWithout(tmpfs !== undefined, "a tmpfs mount (root)"))(
    "on a real full tmpfs writes every line whole or not at all",
    async () => {
      const dir = join(tmpfs?.dir as string, "lines");
      const path = join(dir, "summaries.jsonl");
      const written: number[] = [];
      for (let n = 0; n < 200; n++) {
        try {
          await appendLine(path, line(n));
          written.push(n);
        } catch (error) {
          expect(error).toMatchObject({ code: "ENOSPC", path });
        }
      }
      const text = readFileSync(path, "utf8");
      expect(text.endsWith("\n")).toBe(true);
      const parsed = parseJsonLines(text, isRecord, '{"n":');
      expect(parsed.skipped).toEqual([]);
      expect(parsed.records.map((r) => r.n)).toEqual(written);
      expect(written.length).toBeGreaterThan(10);
      expect(written.length).toBeLessThan(200);
    },
  );
});

describe("writeFileAtomic", () => {
  it("replaces the file whole, leaving no temporary file", async () => {
    const dir = fresh();
    const path = join(dir, "state.json");
    writeFileSync(path, "old");
    await writeFileAtomic(path, "new");
    expect(readFileSync(path, "utf8")).toBe("new");
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  it("on a full disk keeps the old file and removes the partial temporary one", async () => {
    const dir = fresh();
    const path = join(dir, "state.json");
    writeFileSync(path, "old");
    const { fs } = fullDisk(10);
    const error = await writeFileAtomic(path, "x".repeat(100), fs).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "StateFileError", code: "ENOSPC", path });
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  it("names the path when the directory cannot be made", async () => {
    const dir = fresh();
    writeFileSync(join(dir, "file"), "");
    const error = await writeFileAtomic(join(dir, "file", "x.json"), "{}").catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "StateFileError", path: join(dir, "file") });
  });
});

describe("parseJsonLines", () => {
  it("numbers the skipped lines from 1 and keeps the rest in order", () => {
    const text = `${line(1)}\n{"n":\n\n${line(2)}\n[]\n`;
    const parsed = parseJsonLines(text, isRecord, '{"n":');
    expect(parsed.records.map((r) => r.n)).toEqual([1, 2]);
    expect(parsed.skipped).toEqual([
      { line: 2, reason: expect.stringMatching(/^not JSON/) },
      { line: 5, reason: "JSON, but not a record" },
    ]);
  });
});
