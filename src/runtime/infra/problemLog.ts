import type { EventFields } from "./events.js";
import type { Logger } from "./logger.js";

type Level = "error" | "warn";

/**
 * The one "log it at most every N" rule: an operator-facing problem that persists (a denied
 * call, a full disk) is logged when it first happens and then at most once per `repeatMs`,
 * so a minute job that meets it every minute does not bury the log.
 */
export class ProblemLog {
  readonly #repeatMs: number;
  readonly #now: () => number;
  readonly #loggedAt = new Map<string, number>();

  constructor(now: () => number, repeatMs: number) {
    this.#now = now;
    this.#repeatMs = repeatMs;
  }

  /**
   * Logs `message` with `fields` unless problem `key` was logged within the repeat period,
   * or when `always` (a transient fault, a last word before stopping). True when logged.
   */
  report(
    log: Logger,
    key: string,
    fields: EventFields,
    message: string,
    options: { readonly level?: Level; readonly always?: boolean } = {},
  ): boolean {
    const now = this.#now();
    const last = this.#loggedAt.get(key);
    if (!options.always && last !== undefined && now - last < this.#repeatMs) return false;
    this.#loggedAt.set(key, now);
    log[options.level ?? "error"](fields, message);
    return true;
  }

  /** The problem is over: the next time it happens it is logged at once. */
  clear(key: string): void {
    this.#loggedAt.delete(key);
  }
}
