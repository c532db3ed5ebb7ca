import { readFile } from "node:fs/promises";
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
import { writeFileAtomic } from "./stateFiles.js";

export const TIMINGS_FILE = "timings.json";
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

/**
 * What has been measured on each model, kept in the state directory so that a restart or a
 * reload keeps what was learned. Keyed by model name and tied to its ARN: a model whose ARN
 * changes is a different model and starts over. Written whole (temp file, fsync, rename) at
 * most once a minute (stateFiles.writeFileAtomic), so a crash or a full disk leaves the
 * previous file or the new one, never half of one.
 */
export class LearnedTimings {
  readonly #dir: string;
  readonly #log: Logger;
  #models = new Map<string, ModelRecord>();
  #dirty = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, logger: Logger) {
    this.#dir = stateDir;
    this.#log = logger;
  }

  get path(): string {
    return join(this.#dir, TIMINGS_FILE);
  }

  /** Reads the file; a missing one is a first start, a corrupt or foreign one is reported and ignored. */
  async load(): Promise<void> {
    try {
      this.#models = await readTimingsFile(this.path);
    } catch (error) {
      this.#models = new Map();
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      this.#log.warn(
        {
          event: "state-file-ignored",
          path: this.path,
          error: describeError(error),
          effect: "timings are learned again from the next measurements",
        },
        `learned timings not read from ${this.path}`,
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

  /** Drops models no longer configured (by name) from what is written next. */
  retain(names: ReadonlySet<string>): void {
    for (const name of [...this.#models.keys()]) {
      if (!names.has(name)) {
        this.#models.delete(name);
        this.#dirty = true;
      }
    }
  }

  /** Writes the file if anything changed since the last write; failures are logged and retried next time. */
  flush(): Promise<void> {
    if (!this.#dirty) return this.#writing;
    this.#dirty = false;
    const body: TimingsFile = { format: FORMAT, models: Object.fromEntries(this.#models) };
    const text = `${JSON.stringify(body)}\n`;
    this.#writing = this.#writing
      .then(() => writeFileAtomic(this.path, text))
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

/** Parses a timings file strictly: anything but keepwarm's own layout is refused. */
export async function readTimingsFile(path: string): Promise<Map<string, ModelRecord>> {
  const text = await readFile(path, "utf8");
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
