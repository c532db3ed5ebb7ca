import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LEASE_FILE, LEASE_TTL_MS, StateLease } from "../../../src/runtime/state/stateLease.js";
import { collectingLogger } from "../../e2e/daemonHarness.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kw-lease-"));
  dirs.push(dir);
  return dir;
}

/** A replica's lease on `dir`, on a wall clock the test moves. */
function replica(dir: string, clock = { now: Date.now() }) {
  const { logger, lines } = collectingLogger(() => clock.now);
  const lease = new StateLease({ stateDir: dir, log: logger, now: () => clock.now });
  return { lease, lines, clock };
}

const roles = (lines: readonly { event: string }[]) =>
  lines.filter((l) => l.event === "state-lease").map((l) => (l as { role?: string }).role);

describe("StateLease", () => {
  it("is held by one replica; the other is stand-by, says so once, and takes over at release", async () => {
    const dir = stateDir();
    const a = replica(dir);
    const b = replica(dir, a.clock);
    await a.lease.renew();
    await b.lease.renew();
    await b.lease.renew();
    expect([a.lease.holds(), b.lease.holds()]).toEqual([true, false]);
    expect(roles(a.lines)).toEqual(["holder"]);
    expect(roles(b.lines)).toEqual(["standby"]);
    expect(b.lines.find((l) => l.event === "state-lease")).toMatchObject({
      path: join(dir, LEASE_FILE),
      owner: b.lease.owner,
      holder: a.lease.owner,
    });
    const file = JSON.parse(readFileSync(join(dir, LEASE_FILE), "utf8"));
    expect(file).toMatchObject({ owner: a.lease.owner, host: hostname(), pid: process.pid });

    await a.lease.release();
    expect(existsSync(join(dir, LEASE_FILE))).toBe(false);
    await b.lease.renew();
    expect(b.lease.holds()).toBe(true);
    expect(roles(b.lines)).toEqual(["standby", "holder"]);
  });

  it("renews every minute, and a lease not renewed for 3 minutes is taken over", async () => {
    const dir = stateDir();
    const a = replica(dir);
    const b = replica(dir, a.clock);
    await a.lease.renew();
    await b.lease.renew();
    a.clock.now += 60_000;
    await a.lease.renew();
    const renewed = JSON.parse(readFileSync(join(dir, LEASE_FILE), "utf8"));
    expect(renewed.expiresAt).toBe(a.clock.now + LEASE_TTL_MS);
    // The holder stops renewing (a suspended host): its lease runs out.
    a.clock.now += LEASE_TTL_MS;
    expect(a.lease.holds()).toBe(false);
    await b.lease.renew();
    expect(b.lease.holds()).toBe(true);
    expect(b.lines.filter((l) => l.event === "state-lease").at(-1)).toMatchObject({
      role: "holder",
      takenFrom: a.lease.owner,
    });
    // Back, it finds the lease taken and stands by.
    await a.lease.renew();
    expect(a.lease.holds()).toBe(false);
    expect(roles(a.lines)).toEqual(["holder", "standby"]);
  });

  it("takes over at once the lease of a process of this host that no longer runs", async () => {
    const dir = stateDir();
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    const pid = Number(gone.stdout.toString());
    const now = Date.now();
    writeFileSync(
      join(dir, LEASE_FILE),
      JSON.stringify({
        format: "keepwarm-state-lease/1",
        owner: `${hostname()}/${pid}/0badf00d`,
        host: hostname(),
        pid,
        acquiredAt: now,
        renewedAt: now,
        expiresAt: now + LEASE_TTL_MS,
      }),
    );
    const a = replica(dir);
    await a.lease.renew();
    expect(a.lease.holds()).toBe(true);
  });

  it.each([
    ["not a lease", (path: string) => writeFileSync(path, "{ half")],
    ["a FIFO", (path: string) => execFileSync("mkfifo", [path])],
  ])("replaces a lease.json that is %s, with one warning", async (_what, make) => {
    const dir = stateDir();
    make(join(dir, LEASE_FILE));
    const a = replica(dir);
    await a.lease.renew();
    a.clock.now += 60_000;
    await a.lease.renew();
    expect(a.lease.holds()).toBe(true);
    expect(a.lines.filter((l) => l.event === "state-file-ignored")).toEqual([
      expect.objectContaining({ path: join(dir, LEASE_FILE) }),
    ]);
  });

  it("acts alone, saying so once, when the state directory cannot be written", async () => {
    // A file where the state directory should be: nothing can be made in it.
    const blocked = join(stateDir(), "blocked");
    writeFileSync(blocked, "");
    const a = replica(join(blocked, "state"));
    await a.lease.renew();
    a.clock.now += 60_000;
    await a.lease.renew();
    expect(a.lease.holds()).toBe(true);
    expect(a.lines.filter((l) => l.event === "state-lease-failed")).toEqual([
      expect.objectContaining({ level: "warn", path: join(blocked, "state", LEASE_FILE) }),
    ]);
  });
});
