import { existsSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_STATE_DIR } from "../config/resolve.js";
import { type ModelObservations, NO_OBSERVATIONS } from "../domain/timings.js";
import type { ModelConfig } from "../domain/types.js";
import { readTimingsFile, TIMINGS_FILE } from "../runtime/state/learnedTimings.js";

/** Where systemd (`StateDirectory=keepwarm`) and the container image keep the daemon's state. */
export const SERVICE_STATE_DIR = "/var/lib/keepwarm";

/**
 * Runs against the simulator (`run --simulate`, `npm start`) keep their state here, under
 * the state directory: what they learn is the simulator's behaviour, never AWS's, so `plan`
 * and real runs, which read the state directory itself, never see it.
 */
export const SIMULATED_SUBDIR = "simulated";

export function simulatedStateDir(stateDir: string): string {
  return join(stateDir, SIMULATED_SUBDIR);
}

/** What a reading command (`plan`, `report`) was told, in order of precedence. */
export interface StateDirSources {
  /** `--state-dir` */
  readonly flag?: string | undefined;
  /** KEEPWARM_STATE_DIR, else systemd's STATE_DIRECTORY. */
  readonly env?: string | undefined;
  /** The config file read, and its `daemon.stateDir` when the file sets one. */
  readonly config?: { readonly file: string; readonly stateDir: string | undefined } | undefined;
  /** The service default checked for existence; SERVICE_STATE_DIR unless a test says otherwise. */
  readonly serviceDir?: string;
}

export interface FoundStateDir {
  readonly dir: string;
  /** Where it came from and what was looked at before, for a line on stderr. */
  readonly note: string;
}

/**
 * The state directory a reading command uses: `--state-dir`, the environment, the config's
 * `daemon.stateDir`, the systemd and container default when it exists, else `./.state`.
 * The daemon under systemd or in a container writes to /var/lib/keepwarm, so an operator
 * running `keepwarm report` on that host reads what the daemon wrote without a flag.
 */
export function findStateDir(
  sources: StateDirSources,
  exists: (path: string) => boolean = existsSync,
): FoundStateDir {
  if (sources.flag !== undefined) return { dir: sources.flag, note: "from --state-dir" };
  if (sources.env !== undefined) {
    return { dir: sources.env, note: "from KEEPWARM_STATE_DIR or STATE_DIRECTORY" };
  }
  const config = sources.config;
  if (config?.stateDir !== undefined) {
    return { dir: config.stateDir, note: `from daemon.stateDir in ${config.file}` };
  }
  const unset = [
    "--state-dir",
    "KEEPWARM_STATE_DIR",
    "STATE_DIRECTORY",
    config ? `daemon.stateDir in ${config.file}` : "a config (--config)",
  ].join(", ");
  const service = sources.serviceDir ?? SERVICE_STATE_DIR;
  if (exists(service)) {
    return { dir: service, note: `the systemd and container default; no ${unset}` };
  }
  return {
    dir: DEFAULT_STATE_DIR,
    note: `the default; no ${unset}, and ${service} does not exist`,
  };
}

/** `daemon.stateDir` as the file sets it; undefined when the file leaves it to the default. */
export function configuredStateDir(resolved: string): string | undefined {
  return resolved === DEFAULT_STATE_DIR ? undefined : resolved;
}

/** What `readLearnedTimings` found in a state directory. */
export interface LearnedRead {
  readonly path: string;
  /** The model's measurements; none for a model not there or measured on another ARN. */
  readonly observationsOf: (model: ModelConfig) => ModelObservations;
  /** How many models have measurements; 0 when the file could not be used. */
  readonly models: number;
  /** Why nothing was read; undefined when the file was read. */
  readonly problem: string | undefined;
}

/**
 * The measurements `keepwarm run` keeps in `stateDir` (timings.json), keyed by model name
 * and tied to the ARN they were made on, as the daemon reads them at start.
 */
export async function readLearnedTimings(stateDir: string): Promise<LearnedRead> {
  const path = join(stateDir, TIMINGS_FILE);
  try {
    const records = await readTimingsFile(path);
    return {
      path,
      models: records.size,
      problem: undefined,
      observationsOf: (m) => {
        const record = records.get(m.name);
        return record && record.modelArn === m.modelArn ? record : NO_OBSERVATIONS;
      },
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === "ENOENT"
        ? "nothing learned there yet"
        : code === "EACCES"
          ? "permission denied"
          : error instanceof Error
            ? error.message
            : String(error);
    return { path, models: 0, problem, observationsOf: () => NO_OBSERVATIONS };
  }
}
