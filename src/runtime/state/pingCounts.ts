import { join } from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { KeepwarmError } from "../../domain/errors.js";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../domain/units.js";
import type { OwnPings } from "../../suggest/types.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { DaemonObserver, PingResult } from "../infra/observer.js";
import {
  readStateFile,
  StateFileRefusedError,
  type StateFileSystem,
  writeFileAtomic,
} from "./stateFiles.js";

export const PING_COUNTS_FILE = "pings.json";
/** The 5-minute buckets CloudWatch keeps `Invocations` in for 63 days. */
export const PING_BUCKET_MS = 5 * MINUTE_MS;
/** Counts older than CloudWatch's 5-minute data are of no use: dropped at the next write. */
export const PING_KEEP_MS = 63 * DAY_MS;
/** How often the daemon writes the file; a crash loses at most the counts since. */
export const PING_WRITE_EVERY_MS = HOUR_MS;
/**
 * The largest pings.json read. A model's 63 days of counts, deflated, take a few hundred
 * bytes (its pings fall on a regular grid); 20,000 always-on models make about 12 MB.
 */
export const PING_COUNTS_MAX_BYTES = 64 * 1024 * 1024;
const FORMAT = "keepwarm-ping-counts/1";
/** More than a 5-minute bucket ever holds (a request every 5 s is 60); counts are bytes. */
const MAX_COUNT = 255;

/** One model's counts as a writer keeps them: one byte per bucket from `from`, deflated, base64. */
interface EncodedModel {
  readonly modelArn: string;
  /** Epoch ms of the first bucket; counting began there. */
  readonly from: number;
  readonly ok: string;
  readonly notReady: string;
}

interface WriterSection {
  readonly writtenAt: number;
  readonly models: Record<string, EncodedModel>;
}

interface PingCountsFileBody {
  readonly format: typeof FORMAT;
  /** By the lease owner of each daemon that wrote: replicas and restarts each keep their own. */
  readonly writers: Record<string, WriterSection>;
}

/** Why pings.json was not used. */
export class PingCountsFileError extends KeepwarmError {
  override readonly name = "PingCountsFileError";
}

interface ModelCounts {
  readonly modelArn: string;
  /** Index of the first bucket (epoch ms / PING_BUCKET_MS). */
  from: number;
  ok: number[];
  notReady: number[];
}

export interface PingCountsOptions {
  readonly stateDir: string;
  /** This daemon's name among the writers: its lease owner. */
  readonly owner: () => string;
  readonly log: Logger;
  readonly fs?: StateFileSystem | undefined;
}

/**
 * keepwarm's own requests per model and 5-minute bucket, kept in the state directory so that
 * `keepwarm suggest` and the weekly `demand` line can take them out of `Invocations`:
 * keepwarm's pings are not users' demand. Successful pings and ModelNotReady answers are
 * counted apart (CloudWatch counts them in different metrics).
 */
export class PingCounts {
  readonly #options: PingCountsOptions;
  readonly #models = new Map<string, ModelCounts>();
  #writtenAt = Number.NEGATIVE_INFINITY;
  #dirty = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: PingCountsOptions) {
    this.#options = options;
  }

  get path(): string {
    return join(this.#options.stateDir, PING_COUNTS_FILE);
  }

  /** One InvokeModel request of keepwarm's at `at`, by how it ended. */
  record(name: string, modelArn: string, result: PingResult, at: number): void {
    if (result !== "ok" && result !== "not-ready") return;
    const bucket = Math.floor(at / PING_BUCKET_MS);
    let counts = this.#models.get(name);
    if (!counts || counts.modelArn !== modelArn) {
      counts = { modelArn, from: bucket, ok: [], notReady: [] };
      this.#models.set(name, counts);
    }
    if (bucket < counts.from) return;
    const list = result === "ok" ? counts.ok : counts.notReady;
    const i = bucket - counts.from;
    while (list.length <= i) list.push(0);
    list[i] = Math.min(MAX_COUNT, (list[i] as number) + 1);
    this.#dirty = true;
  }

  /**
   * Writes the file once an hour (and when `force`, at stop) if anything was counted:
   * this daemon's section replaced, other writers' kept while they hold recent counts.
   * A failure is logged and tried again at the next write.
   */
  flush(now: number, force = false): Promise<void> {
    if (!this.#dirty || (!force && now - this.#writtenAt < PING_WRITE_EVERY_MS)) {
      return this.#writing;
    }
    this.#dirty = false;
    this.#writtenAt = now;
    this.#writing = this.#writing
      .then(async () => {
        this.#trim(now);
        let file: PingCountsFileBody = { format: FORMAT, writers: {} };
        try {
          file = await readPingCountsFile(this.path, this.#options.fs);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") this.#ignored(error);
        }
        const writers: Record<string, WriterSection> = {};
        for (const [owner, section] of Object.entries(file.writers)) {
          const models = Object.fromEntries(
            Object.entries(section.models).filter(([, m]) => lastBucketAt(m) > now - PING_KEEP_MS),
          );
          if (Object.keys(models).length > 0) writers[owner] = { ...section, models };
        }
        writers[this.#options.owner()] = { writtenAt: now, models: this.#encoded() };
        const body: PingCountsFileBody = { format: FORMAT, writers };
        await writeFileAtomic(this.path, `${JSON.stringify(body)}\n`, this.#options.fs);
      })
      .catch((error: unknown) => {
        this.#dirty = true;
        this.#options.log.error(
          {
            event: "state-write-failed",
            path: this.path,
            error: describeError(error),
            retry: "at the next hour, and at stop",
          },
          `ping counts not written to ${this.path}`,
        );
      });
    return this.#writing;
  }

  #trim(now: number): void {
    const first = Math.floor((now - PING_KEEP_MS) / PING_BUCKET_MS);
    for (const counts of this.#models.values()) {
      const drop = first - counts.from;
      if (drop <= 0) continue;
      counts.ok = counts.ok.slice(drop);
      counts.notReady = counts.notReady.slice(drop);
      counts.from = first;
    }
  }

  #encoded(): Record<string, EncodedModel> {
    const out: Record<string, EncodedModel> = {};
    for (const [name, c] of this.#models) {
      out[name] = {
        modelArn: c.modelArn,
        from: c.from * PING_BUCKET_MS,
        ok: encodeCounts(c.ok),
        notReady: encodeCounts(c.notReady),
      };
    }
    return out;
  }

  #ignored(error: unknown): void {
    const refused = error instanceof StateFileRefusedError ? error : undefined;
    this.#options.log.warn(
      {
        event: "state-file-ignored",
        path: this.path,
        error: describeError(error),
        ...(refused?.size !== undefined ? { size: refused.size, maxBytes: refused.maxBytes } : {}),
        effect: "replaced by this daemon's counts; other daemons' counts in it are lost",
      },
      refused ? refused.message : `ping counts not read from ${this.path}`,
    );
  }
}

/**
 * The observer with every request of a ping counted in `counts`, at `now()`, under the
 * ARN the model has then. The observer may be a class (the /metrics one): its other
 * methods are called on it, as they were.
 */
export function countingPings(
  observer: DaemonObserver,
  counts: PingCounts,
  now: () => number,
  arnOf: (name: string) => string | undefined,
): DaemonObserver {
  const pingResult = (model: string, result: PingResult) => {
    const arn = arnOf(model);
    if (arn !== undefined) counts.record(model, arn, result, now());
    observer.pingResult(model, result);
  };
  return new Proxy(observer, {
    get(target, property) {
      if (property === "pingResult") return pingResult;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function encodeCounts(counts: readonly number[]): string {
  return deflateRawSync(Uint8Array.from(counts)).toString("base64");
}

function decodeCounts(text: string): Uint8Array {
  return new Uint8Array(inflateRawSync(Buffer.from(text, "base64")));
}

function lastBucketAt(m: EncodedModel): number {
  const length = Math.max(decodeCounts(m.ok).length, decodeCounts(m.notReady).length);
  return m.from + length * PING_BUCKET_MS;
}

async function readPingCountsFile(
  path: string,
  fs: StateFileSystem | undefined,
): Promise<PingCountsFileBody> {
  const text = await readStateFile(path, { maxBytes: PING_COUNTS_MAX_BYTES, fs });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PingCountsFileError(`${path} is not JSON`, { cause: error });
  }
  const file = parsed as Partial<PingCountsFileBody> | null;
  if (file === null || typeof file !== "object" || file.format !== FORMAT) {
    throw new PingCountsFileError(
      `${path} is not a keepwarm ping counts file (format "${FORMAT}")`,
    );
  }
  const writers = file.writers;
  if (writers === null || typeof writers !== "object") {
    throw new PingCountsFileError(`${path} has no writers`);
  }
  for (const [owner, section] of Object.entries(writers)) {
    const models = (section as Partial<WriterSection> | null)?.models;
    const ok =
      models !== null &&
      typeof models === "object" &&
      Object.values(models).every(
        (m) =>
          typeof m?.modelArn === "string" &&
          Number.isFinite(m?.from) &&
          typeof m?.ok === "string" &&
          typeof m?.notReady === "string",
      );
    if (!ok) throw new PingCountsFileError(`${path}: writer "${owner}" is malformed`);
  }
  return file as PingCountsFileBody;
}

/** What `keepwarm suggest` reads from pings.json. */
export interface PingCountsRead {
  readonly path: string;
  /** Why the file was not used (missing, refused, malformed); undefined when it was. */
  readonly problem: string | undefined;
  /** The counts of a model by name and ARN, summed over every writer; undefined when none. */
  readonly countsOf: (name: string, modelArn: string) => OwnPings | undefined;
}

export async function readPingCounts(
  stateDir: string,
  fs?: StateFileSystem,
): Promise<PingCountsRead> {
  const path = join(stateDir, PING_COUNTS_FILE);
  let file: PingCountsFileBody;
  try {
    file = await readPingCountsFile(path, fs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      path,
      problem: code === "ENOENT" ? "no such file" : (error as Error).message,
      countsOf: () => undefined,
    };
  }
  const byModel = new Map<
    string,
    { since: number; ok: Map<number, number>; notReady: Map<number, number> }
  >();
  for (const section of Object.values(file.writers)) {
    for (const [name, m] of Object.entries(section.models)) {
      const key = `${name}\u0000${m.modelArn}`;
      const own = byModel.get(key) ?? { since: m.from, ok: new Map(), notReady: new Map() };
      own.since = Math.min(own.since, m.from);
      addInto(own.ok, m.from, decodeCounts(m.ok));
      addInto(own.notReady, m.from, decodeCounts(m.notReady));
      byModel.set(key, own);
    }
  }
  return {
    path,
    problem: undefined,
    countsOf: (name, modelArn) => byModel.get(`${name}\u0000${modelArn}`),
  };
}

function addInto(into: Map<number, number>, from: number, counts: Uint8Array): void {
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number;
    if (n === 0) continue;
    const t = from + i * PING_BUCKET_MS;
    into.set(t, (into.get(t) ?? 0) + n);
  }
}
