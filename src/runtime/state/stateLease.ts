import { randomBytes } from "node:crypto";
import { mkdir, open, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describeError, type Logger } from "../infra/logger.js";
import { trackStateIo } from "../infra/shutdown.js";
import {
  readStateFile,
  StateFileError,
  StateFileRefusedError,
  writeFileAtomic,
} from "./stateFiles.js";

/** Who writes the shared files of a state directory: summaries.jsonl and budget crossings. */
export const LEASE_FILE = "lease.json";
const LOCK_SUFFIX = ".lock";
const FORMAT = "keepwarm-state-lease/1";
/** A lease not renewed for this long is free to take. */
export const LEASE_TTL_MS = 3 * 60_000;
/** How often the holder renews it. */
export const LEASE_RENEW_MS = 60_000;
/** A lease file is a few hundred bytes; anything larger is not one. */
const LEASE_MAX_BYTES = 64 * 1024;
/** A lock file older than this was left by a process that died holding it. */
const STALE_LOCK_MS = 30_000;
/** Tries at the lock before this renewal is skipped (another replica is renewing). */
const LOCK_TRIES = 8;
const LOCK_WAIT_MS = 25;

/** What the hooks ask: whether this replica writes the shared files now. */
export interface LeaseHolder {
  holds(): boolean;
}

interface LeaseRecord {
  readonly format: typeof FORMAT;
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly acquiredAt: number;
  readonly renewedAt: number;
  readonly expiresAt: number;
}

export interface StateLeaseOptions {
  readonly stateDir: string;
  readonly log: Logger;
  /** Wall-clock milliseconds: the lease is between processes, whatever clock a daemon runs on. */
  readonly now?: () => number;
  readonly ttlMs?: number;
  readonly renewMs?: number;
}

/** Owners of leases alive in this process: one with this host and pid but not here is dead. */
const liveOwners = new Set<string>();

type Role = "holder" | "standby";

/**
 * A lease on the state directory, so that two replicas sharing it do not both write
 * summaries.jsonl and announce budget crossings. `lease.json` names its owner and when the
 * lease expires; the holder renews it every minute. Every change to it is made under
 * `lease.json.lock` (created exclusively), so two replicas cannot both take a free lease. A
 * lease whose owner is gone (expired, or a process of this host that no longer runs) is
 * taken over. When the lease cannot be read or written at all, the replica acts alone, as
 * one did before leases: a broken state directory must not silence the only replica.
 */
export class StateLease implements LeaseHolder {
  readonly owner: string;
  readonly #dir: string;
  readonly #path: string;
  readonly #lock: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #renewMs: number;
  #role: Role | undefined;
  /** When this replica's own lease ends, unless renewed. */
  #expiresAt = 0;
  #renewedAt = Number.NEGATIVE_INFINITY;
  #acquiredAt = 0;
  /** The other replica's lease last seen. */
  #other: LeaseRecord | undefined;
  #renewing: Promise<void> | undefined;
  #failing = false;
  #ignored = false;
  #released = false;

  constructor(options: StateLeaseOptions) {
    this.#dir = options.stateDir;
    this.#path = join(options.stateDir, LEASE_FILE);
    this.#lock = `${this.#path}${LOCK_SUFFIX}`;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.ttlMs ?? LEASE_TTL_MS;
    this.#renewMs = options.renewMs ?? LEASE_RENEW_MS;
    this.owner = `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;
    liveOwners.add(this.owner);
  }

  get path(): string {
    return this.#path;
  }

  /** Whether this replica writes summaries and budget crossings now. */
  holds(): boolean {
    return this.#role === "holder" && this.#now() < this.#expiresAt;
  }

  /**
   * Takes or renews the lease: at once when this replica does not hold it (a stand-by looks
   * every time it is asked), else once its renewal is due. Never throws.
   */
  renew(): Promise<void> {
    if (this.#released) return Promise.resolve();
    if (this.#renewing) return this.#renewing;
    const now = this.#now();
    if (this.holds() && now - this.#renewedAt < this.#renewMs) return Promise.resolve();
    this.#renewing = this.#renewOnce().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /** Gives the lease up at stop, so that a stand-by takes it at its next look. */
  async release(): Promise<void> {
    await this.#renewing;
    this.#released = true;
    liveOwners.delete(this.owner);
    if (this.#role !== "holder") return;
    this.#role = undefined;
    try {
      await this.#underLock(async () => {
        const current = await this.#read();
        if (current?.owner === this.owner) {
          await trackStateIo(this.#path, unlink(this.#path));
        }
      });
    } catch {
      // It expires on its own.
    }
  }

  async #renewOnce(): Promise<void> {
    try {
      const decided = await this.#underLock(() => this.#decide());
      if (decided) this.#failing = false;
    } catch (error) {
      this.#failed(error);
    }
  }

  /** Under the lock: reads the lease, and takes or renews it unless another replica holds it. */
  async #decide(): Promise<true> {
    const now = this.#now();
    const current = await this.#read();
    if (current && current.owner !== this.owner && this.#alive(current, now)) {
      this.#other = current;
      this.#become("standby", current);
      return true;
    }
    if (this.#role !== "holder" || current?.owner !== this.owner) this.#acquiredAt = now;
    const record: LeaseRecord = {
      format: FORMAT,
      owner: this.owner,
      host: hostname(),
      pid: process.pid,
      acquiredAt: this.#acquiredAt,
      renewedAt: now,
      expiresAt: now + this.#ttlMs,
    };
    await writeFileAtomic(this.#path, `${JSON.stringify(record)}\n`);
    this.#renewedAt = now;
    this.#expiresAt = record.expiresAt;
    this.#other = undefined;
    this.#become("holder", current?.owner !== this.owner ? current : undefined);
    return true;
  }

  /** Whether the lease's owner may still be writing: unexpired, and not a dead process here. */
  #alive(lease: LeaseRecord, now: number): boolean {
    if (lease.expiresAt <= now) return false;
    if (lease.host !== hostname()) return true;
    if (lease.pid === process.pid) return liveOwners.has(lease.owner);
    try {
      process.kill(lease.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code !== "ESRCH";
    }
  }

  /** The lease file; undefined when there is none or it is not a lease (then it is replaced). */
  async #read(): Promise<LeaseRecord | undefined> {
    let text: string;
    try {
      text = await readStateFile(this.#path, { maxBytes: LEASE_MAX_BYTES });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (error instanceof StateFileRefusedError && error.code !== "ETIMEDOUT") {
        this.#ignore(error);
        return undefined;
      }
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as Partial<LeaseRecord> | null;
      if (
        parsed?.format === FORMAT &&
        typeof parsed.owner === "string" &&
        typeof parsed.host === "string" &&
        typeof parsed.pid === "number" &&
        typeof parsed.expiresAt === "number"
      ) {
        return parsed as LeaseRecord;
      }
    } catch {
      // Reported below.
    }
    this.#ignore(new Error(`${this.#path} is not a keepwarm lease (format "${FORMAT}")`));
    return undefined;
  }

  #ignore(error: unknown): void {
    if (this.#ignored) return;
    this.#ignored = true;
    const refused = error instanceof StateFileRefusedError ? error : undefined;
    this.#log.warn(
      {
        event: "state-file-ignored",
        path: this.#path,
        error: describeError(error),
        ...(refused?.size !== undefined ? { size: refused.size, maxBytes: refused.maxBytes } : {}),
        effect: "replaced by this replica's lease",
      },
      refused ? refused.message : `${this.#path} is not a lease: replaced`,
    );
  }

  /**
   * Runs `work` holding the lock file; undefined when another process held it throughout
   * (it is renewing: the next look decides).
   */
  async #underLock<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      await trackStateIo(this.#dir, mkdir(this.#dir, { recursive: true }));
    } catch (error) {
      throw new StateFileError(this.#dir, "create the directory", error);
    }
    for (let attempt = 0; attempt < LOCK_TRIES; attempt++) {
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await trackStateIo(this.#lock, open(this.#lock, "wx"));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EEXIST") throw new StateFileError(this.#lock, "create", error);
        if (await this.#staleLock()) continue;
        await new Promise((resolve) => setTimeout(resolve, LOCK_WAIT_MS));
        continue;
      }
      try {
        await handle.close();
        return await work();
      } finally {
        await trackStateIo(this.#lock, unlink(this.#lock)).catch(() => undefined);
      }
    }
    return undefined;
  }

  /** Removes a lock left by a process that died holding it; true if it did. */
  async #staleLock(): Promise<boolean> {
    try {
      const s = await trackStateIo(this.#lock, stat(this.#lock));
      if (Date.now() - s.mtimeMs < STALE_LOCK_MS) return false;
      await trackStateIo(this.#lock, unlink(this.#lock));
      return true;
    } catch {
      return true;
    }
  }

  #become(role: Role, previous: LeaseRecord | undefined): void {
    if (this.#role === role) return;
    this.#role = role;
    const holder = role === "holder" ? this.owner : (previous?.owner ?? "unknown");
    const expiresAt = role === "holder" ? this.#expiresAt : (previous?.expiresAt ?? 0);
    this.#log.info(
      {
        event: "state-lease",
        path: this.#path,
        role,
        owner: this.owner,
        holder,
        expiresAt: new Date(expiresAt).toISOString(),
        ...(role === "holder" && previous ? { takenFrom: previous.owner } : {}),
      },
      role === "holder"
        ? `this replica holds the state lease: it writes summaries.jsonl and budget crossings`
        : `stand-by: ${holder} holds the state lease, so this replica writes neither summaries.jsonl nor budget crossings until it takes the lease over`,
    );
  }

  #failed(error: unknown): void {
    // Acts alone unless another replica was seen holding a lease that has not expired.
    const other = this.#other;
    const now = this.#now();
    if (other && other.expiresAt > now) {
      this.#become("standby", other);
    } else {
      this.#expiresAt = now + this.#ttlMs;
      this.#renewedAt = now;
      this.#become("holder", undefined);
    }
    if (this.#failing) return;
    this.#failing = true;
    this.#log.warn(
      {
        event: "state-lease-failed",
        path: this.#path,
        error: describeError(error),
        effect:
          this.#role === "holder"
            ? "this replica writes summaries and budget crossings as if alone; tried again every minute"
            : "stand-by while the other replica's lease lasts; tried again every minute",
      },
      `state lease not renewed: ${describeError(error).message}`,
    );
  }
}
