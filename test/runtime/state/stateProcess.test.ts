import { execFileSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { BUDGETS_MAX_BYTES } from "../../../src/runtime/state/budgetState.js";
import { TIMINGS_MAX_BYTES } from "../../../src/runtime/state/learnedTimings.js";
import { skipWithout } from "../../requiredTools.js";
import { type Child, type Line, runSample, startNode, stop } from "../childProcess.js";

const stuckChild = fileURLToPath(new URL("./stuckReadChild.ts", import.meta.url));
const readChild = fileURLToPath(new URL("./stateReadChild.ts", import.meta.url));

/** Every file of the state directory that keepwarm reads or writes. */
const STATE_FILES = ["timings.json", "budgets.json", "summaries.jsonl", "lease.json"] as const;
const HUNDRED_MB = 100_000_000;

function hasMkfifo(): boolean {
  try {
    execFileSync("mkfifo", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const mkfifo = hasMkfifo();

const dirs: string[] = [];
const children: Child[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await stop(c);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kw-state-process-"));
  dirs.push(dir);
  return dir;
}

/**
 * Makes each state file with `make` in `dir` and in `dir/simulated`, where a run against the
 * simulator may keep its state apart from a real one's.
 */
function plant(dir: string, make: (path: string) => void): void {
  for (const at of [dir, join(dir, "simulated")]) {
    mkdirSync(at, { recursive: true });
    for (const name of STATE_FILES) make(join(at, name));
  }
}

const fifo = (path: string) => execFileSync("mkfifo", [path]);
const hundredMb = (path: string) => {
  writeFileSync(path, "");
  truncateSync(path, HUNDRED_MB);
};

function track(child: Child): Child {
  children.push(child);
  return child;
}

const ignored = (path: string) => (l: Line) => l.event === "state-file-ignored" && l.path === path;

/**
 * Starts `keepwarm run` on `dir` and waits until start-up is past the state files; `used`
 * is the directory it keeps them in.
 */
async function started(dir: string): Promise<{ child: Child; used: string }> {
  const child = track(runSample(dir));
  // Logged once the timings are read and the lease decided, and month to date rebuilt.
  const lease = await child.until("the state lease", (l) => l.event === "state-lease");
  await child.until("month to date", (l) => l.event === "month-to-date");
  return { child, used: dirname(String(lease.path)) };
}

/** SIGTERM, and how long the process took to end after it. */
async function terminate(child: Child): Promise<{ code: number | null; ms: number }> {
  const sent = performance.now();
  child.proc.kill("SIGTERM");
  const exit = await child.exited;
  return { code: exit.code, ms: exit.at - sent };
}

describe("keepwarm run with a FIFO at each state path", () => {
  it.skipIf(skipWithout(mkfifo, "mkfifo"))(
    "starts without them, and exits 0 on SIGTERM within the grace period",
    async () => {
      const dir = stateDir();
      plant(dir, fifo);
      const { child, used } = await started(dir);
      expect(child.lines.find(ignored(join(used, "timings.json")))).toMatchObject({
        level: "warn",
        error: { message: expect.stringContaining("is a FIFO, not a regular file") },
      });
      expect(child.lines.filter(ignored(join(used, "timings.json")))).toHaveLength(1);
      const exit = await terminate(child);
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(10_000);
      expect(child.lines.at(-1)).toMatchObject({ event: "shutdown", reason: "SIGTERM" });
      // Left as they were; the lease is replaced by the replica's own.
      for (const name of ["timings.json", "budgets.json", "summaries.jsonl"]) {
        expect(lstatSync(join(used, name)).isFIFO()).toBe(true);
      }
    },
    60_000,
  );

  it.skipIf(skipWithout(mkfifo, "mkfifo"))(
    "refuses them in every reader and writer of the state directory, none waiting on them",
    async () => {
      const dir = stateDir();
      for (const name of STATE_FILES) fifo(join(dir, name));
      const child = track(startNode(["--import", "tsx", readChild, dir, "append"]));
      const done = await child.until("the readers' results", (l) => l.event === "done", 30_000);
      expect(done.results).toMatchObject({
        lease: "holder",
        budgets: expect.stringMatching(/is a FIFO, not a regular file/),
        report: expect.stringMatching(/cannot read .*summaries.jsonl: .* is a FIFO, not a regular/),
        archive: expect.stringMatching(/^ENOTREG .* is a FIFO, not a regular file/),
        append: expect.stringMatching(/^ENOTREG cannot append to .*summaries.jsonl/),
      });
      expect((await child.exited).code).toBe(0);
    },
    60_000,
  );
});

describe("a state file read that never returns (a stale NFS mount)", () => {
  it.skipIf(skipWithout(mkfifo, "mkfifo"))(
    "is given up on at start, and SIGTERM still ends the process within the grace period",
    async () => {
      const dir = stateDir();
      execFileSync("mkfifo", [join(dir, "timings.json")]);
      const child = track(startNode(["--import", "tsx", stuckChild, dir, "5000"]));
      await child.until("ready", (l) => l.event === "ready");
      expect(child.lines.find(ignored(join(dir, "timings.json")))).toMatchObject({
        error: { message: expect.stringContaining("gave no answer in 0.3 s") },
      });
      const sent = performance.now();
      child.proc.kill("SIGTERM");
      const exit = await child.exited;
      expect(exit.at - sent).toBeLessThan(5_000);
      // Node's exit would wait for the open forever: the process ends by its own SIGKILL.
      expect(exit.signal).toBe("SIGKILL");
      expect(child.lines.map((l) => l.event).slice(-2)).toEqual([
        "shutdown-io-abandoned",
        "shutdown",
      ]);
      expect(child.lines.at(-2)).toMatchObject({ paths: [join(dir, "timings.json")] });
    },
    60_000,
  );
});

describe("state files larger than any fleet writes", () => {
  it("are refused before a byte is read: keepwarm run starts with the memory of a normal start", async () => {
    const normal = (await started(stateDir())).child;
    await new Promise((r) => setTimeout(r, 500));
    const normalKb = normal.peakRssKb();
    expect((await terminate(normal)).code).toBe(0);

    const dir = stateDir();
    plant(dir, hundredMb);
    const { child: big, used } = await started(dir);
    await new Promise((r) => setTimeout(r, 500));
    const bigKb = big.peakRssKb();
    const timings = join(used, "timings.json");
    expect(big.lines.find(ignored(timings))).toMatchObject({
      size: HUNDRED_MB,
      maxBytes: TIMINGS_MAX_BYTES,
      error: {
        message: `${timings} is ${HUNDRED_MB} bytes, more than the ${TIMINGS_MAX_BYTES} bytes keepwarm ever writes there: not read, left as it is`,
      },
    });
    expect(big.lines.find(ignored(join(used, "lease.json")))).toMatchObject({ size: HUNDRED_MB });
    expect((await terminate(big)).code).toBe(0);
    for (const name of ["timings.json", "budgets.json", "summaries.jsonl"]) {
      expect(statSync(join(used, name)).size).toBe(HUNDRED_MB);
    }
    if (normalKb !== undefined && bigKb !== undefined) {
      expect(bigKb - normalKb).toBeLessThan(40 * 1024);
    }
  }, 90_000);

  it("are refused by every reader, whose peak memory stays that of an empty state directory", async () => {
    const run = async (dir: string) => {
      const child = track(startNode(["--import", "tsx", readChild, dir]));
      const done = await child.until("the readers' results", (l) => l.event === "done", 60_000);
      expect((await child.exited).code).toBe(0);
      return done as Line & { results: Record<string, string>; maxRssKb: number };
    };
    const empty = await run(stateDir());
    const dir = stateDir();
    for (const name of STATE_FILES) hundredMb(join(dir, name));
    const big = await run(dir);
    expect(big.results).toMatchObject({
      lease: "holder",
      budgets: ` ${join(dir, "budgets.json")} is ${HUNDRED_MB} bytes, more than the ${BUDGETS_MAX_BYTES} bytes keepwarm ever writes there: not read, left as it is`,
      // One line of 100 MB of zeros: skipped, never held in memory.
      report: expect.stringMatching(/"skipped":\[\{"line":1,"reason":"longer than 33554432 bytes/),
      archive: "ok 0",
    });
    expect(big.maxRssKb - empty.maxRssKb).toBeLessThan(40 * 1024);
  }, 90_000);
});
