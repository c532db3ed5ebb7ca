import { join } from "node:path";
import { KeepwarmError } from "../../domain/errors.js";
import {
  type EvictionSample,
  type ModelObservations,
  NO_OBSERVATIONS,
  type RestoreSample,
  recentObservations,
} from "../../domain/timings.js";
import { describeError, type Logger } from "../infra/logger.js";
import {
  readStateFile,
  StateFileRefusedError,
  type StateFileSystem,
  writeFileAtomic,
} from "./stateFiles.js";

export const TIMINGS_FILE = "timings.json";
/**
 * The largest timings.json read. 20,000 models with two weeks of business-hours samples
 * each (10 measured evictions, an at-most bound, 10 restores; ARNs and names as AWS and
 * teams write them) make a file of 26.5 MB; this leaves room for more samples per model.
 * Parsing a file this size takes about 8 times its size in memory.
 */
export const TIMINGS_MAX_BYTES = 48 * 1024 * 1024;
/** Marks the file as keepwarm's, and its layout. */
const FORMAT = "keepwarm-learned-timings/1";

interface ModelRecord {
  readonly modelArn: string;
  evictions: EvictionSample[];
  restores: RestoreSample[];
}

interface TimingsFile {
  readonly format: typeof FORMAT;
  readonly models: Record<string, ModelRecord>;
}

/** Why a timings file was not used. */
export class TimingsFileError extends KeepwarmError {
  override readonly name = "TimingsFileError";
}

export interface LearnedTimingsOptions {
  /** The file system of the state directory; node's unless a test injects a stuck one. */
  readonly fs?: StateFileSystem;
  readonly readTimeoutMs?: number;
}

/** The identity of a sample: the same measurement read back from the file is not added twice. */
const sampleKey = (s: EvictionSample | RestoreSample): string =>
  "bound" in s ? `e:${s.at}:${s.ms}:${s.lastCallAt}:${s.bound}` : `r:${s.at}:${s.ms}`;

/**
 * What has been measured on each model, kept in the state directory so that a restart or a
 * reload keeps what was learned. Keyed by model name and tied to its ARN: a model whose ARN
 * changes is a different model and starts over. Written whole (temp file, fsync, rename) at
 * most once a minute (stateFiles.writeFileAtomic), so a crash or a full disk leaves the
 * previous file or the new one, never half of one. Each write first reads the file and
 * merges what another replica on the same state directory measured, so that neither's
 * samples are lost.
 */
export class LearnedTimings {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #options: LearnedTimingsOptions;
  #models = new Map<string, ModelRecord>();
  /** Models `retain` dropped: not taken back from the file at the next merge. */
  readonly #dropped = new Set<string>();
  /** Restores withdrawn (`withdrawRestore`), by model and sample: not taken back either. */
  readonly #withdrawn = new Set<string>();
  #dirty = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, logger: Logger, options: LearnedTimingsOptions = {}) {
    this.#dir = stateDir;
    this.#log = logger;
    this.#options = options;
  }

  get path(): string {
    return join(this.#dir, TIMINGS_FILE);
  }

  /**
   * Reads the file; a missing one is a first start. A corrupt or foreign one, one that is
   * not a regular file, one larger than TIMINGS_MAX_BYTES or one that does not answer is
   * reported once and ignored: start-up goes on without it.
   */
  async load(): Promise<void> {
    try {
      this.#models = await this.#read();
    } catch (error) {
      this.#models = new Map();
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      const refused = error instanceof StateFileRefusedError ? error : undefined;
      this.#log.warn(
        {
          event: "state-file-ignored",
          path: this.path,
          error: describeError(error),
          ...(refused?.size !== undefined
            ? { size: refused.size, maxBytes: refused.maxBytes }
            : {}),
          effect: "timings are learned again from the next measurements",
        },
        refused ? refused.message : `learned timings not read from ${this.path}`,
      );
    }
  }

  /** The measurements of `model`; none when its ARN differs from the one they were made on. */
  observationsOf(name: string, modelArn: string): ModelObservations {
    const record = this.#models.get(name);
    if (!record || record.modelArn !== modelArn) return NO_OBSERVATIONS;
    return record;
  }

  addEviction(name: string, modelArn: string, sample: EvictionSample): ModelObservations {
    const record = this.#recordOf(name, modelArn);
    record.evictions.push(sample);
    return this.#trim(record, sample.at);
  }

  addRestore(name: string, modelArn: string, sample: RestoreSample): ModelObservations {
    const record = this.#recordOf(name, modelArn);
    record.restores.push(sample);
    return this.#trim(record, sample.at);
  }

  /**
   * Forgets a restore found afterwards not to be a whole one (another caller began it), here
   * and, at the next write, in the file.
   */
  withdrawRestore(name: string, modelArn: string, sample: RestoreSample): void {
    const record = this.#models.get(name);
    this.#withdrawn.add(`${name}\u0000${sampleKey(sample)}`);
    if (!record || record.modelArn !== modelArn) return;
    record.restores = record.restores.filter((s) => sampleKey(s) !== sampleKey(sample));
    this.#dirty = true;
  }

  /** Drops models no longer configured (by name) from what is written next. */
  retain(names: ReadonlySet<string>): void {
    for (const name of names) this.#dropped.delete(name);
    for (const name of [...this.#models.keys()]) {
      if (!names.has(name)) {
        this.#models.delete(name);
        this.#dropped.add(name);
        this.#dirty = true;
      }
    }
  }

  /**
   * Writes the file if anything changed since the last write, after merging what the file
   * holds now (another replica's samples); failures are logged and retried next time.
   */
  flush(): Promise<void> {
    if (!this.#dirty) return this.#writing;
    this.#dirty = false;
    this.#writing = this.#writing
      .then(async () => {
        await this.#mergeFile();
        const body: TimingsFile = { format: FORMAT, models: Object.fromEntries(this.#models) };
        await writeFileAtomic(this.path, `${JSON.stringify(body)}\n`);
      })
      .catch((error: unknown) => {
        this.#dirty = true;
        this.#log.error(
          {
            event: "state-write-failed",
            path: this.path,
            error: describeError(error),
            retry: "at the next minute",
          },
          `learned timings not written to ${this.path}`,
        );
      });
    return this.#writing;
  }

  #read(): Promise<Map<string, ModelRecord>> {
    return readTimingsFile(this.path, this.#options);
  }

  /**
   * Takes into memory the samples the file holds that this process does not: those of a
   * replica sharing the state directory. A model measured under another ARN here keeps
   * this process's record; a file that cannot be read adds nothing and is replaced.
   */
  async #mergeFile(): Promise<void> {
    let file: Map<string, ModelRecord>;
    try {
      file = await this.#read();
    } catch {
      return;
    }
    for (const [name, theirs] of file) {
      if (this.#dropped.has(name)) continue;
      const ours = this.#models.get(name);
      if (!ours) {
        theirs.restores = theirs.restores.filter(
          (r) => !this.#withdrawn.has(`${name}\u0000${sampleKey(r)}`),
        );
        this.#models.set(name, theirs);
        continue;
      }
      if (ours.modelArn !== theirs.modelArn) continue;
      const merged = <T extends EvictionSample | RestoreSample>(
        a: readonly T[],
        b: readonly T[],
      ) => {
        const seen = new Set(a.map(sampleKey));
        return [...a, ...b.filter((s) => !seen.has(sampleKey(s)))].sort((x, y) => x.at - y.at);
      };
      ours.evictions = merged(ours.evictions, theirs.evictions);
      ours.restores = merged(
        ours.restores,
        theirs.restores.filter((r) => !this.#withdrawn.has(`${name}\u0000${sampleKey(r)}`)),
      );
      const latest = Math.max(
        0,
        ...ours.evictions.map((s) => s.at),
        ...ours.restores.map((s) => s.at),
      );
      this.#trim(ours, latest);
    }
  }

  #recordOf(name: string, modelArn: string): ModelRecord {
    let record = this.#models.get(name);
    if (!record || record.modelArn !== modelArn) {
      record = { modelArn, evictions: [], restores: [] };
      this.#models.set(name, record);
    }
    this.#dirty = true;
    return record;
  }

  #trim(record: ModelRecord, now: number): ModelObservations {
    const recent = recentObservations(record, now);
    record.evictions = [...recent.evictions];
    record.restores = [...recent.restores];
    return record;
  }
}

/**
 * Parses a timings file strictly: anything but keepwarm's own layout is refused, and so is a
 * file that is not a regular one or is larger than TIMINGS_MAX_BYTES, before it is read.
 */
export async function readTimingsFile(
  path: string,
  options: LearnedTimingsOptions = {},
): Promise<Map<string, ModelRecord>> {
  const text = await readStateFile(path, {
    maxBytes: TIMINGS_MAX_BYTES,
    fs: options.fs,
    timeoutMs: options.readTimeoutMs,
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TimingsFileError(`${path} is not JSON`, { cause: error });
  }
  const file = parsed as Partial<TimingsFile> | null;
  if (file === null || typeof file !== "object" || file.format !== FORMAT) {
    throw new TimingsFileError(`${path} is not a keepwarm timings file (format "${FORMAT}")`);
  }
  const models = new Map<string, ModelRecord>();
  for (const [name, record] of Object.entries(file.models ?? {})) {
    if (!isRecord(record)) throw new TimingsFileError(`${path}: model "${name}" is malformed`);
    models.set(name, {
      modelArn: record.modelArn,
      evictions: [...record.evictions],
      restores: [...record.restores],
    });
  }
  return models;
}

function isRecord(value: unknown): value is ModelRecord {
  const r = value as Partial<ModelRecord> | null;
  const finite = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  return (
    r !== null &&
    typeof r === "object" &&
    typeof r.modelArn === "string" &&
    Array.isArray(r.evictions) &&
    Array.isArray(r.restores) &&
    r.evictions.every(
      (s) =>
        finite(s?.at) &&
        finite(s?.ms) &&
        finite(s?.lastCallAt) &&
        (s?.bound === "measured" || s?.bound === "at-most"),
    ) &&
    r.restores.every((s) => finite(s?.at) && finite(s?.ms))
  );
}
