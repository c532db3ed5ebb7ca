import { formatDuration } from "../../domain/format.js";
import type { Logger } from "../infra/logger.js";

/** A wall clock that moved this much more or less than the monotonic one was stepped. */
const CLOCK_JUMP_MS = 5_000;

/**
 * Compares the wall clock with the monotonic one at each minute job: one `clock-jump` line
 * when the wall clock moved unlike it (a suspend, NTP, an operator), with how far and what
 * the daemon does about it.
 */
export class ClockJumpWatch {
  readonly #log: Logger;
  #last: { wall: number; monotonic: number } | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  notice(now: number, monotonic: number, readFrom: number, summarised: string | undefined): void {
    const last = this.#last;
    this.#last = { wall: now, monotonic };
    if (!last) return;
    const jumpMs = now - last.wall - (monotonic - last.monotonic);
    if (Math.abs(jumpMs) < CLOCK_JUMP_MS) return;
    const forward = jumpMs > 0;
    const actions = forward
      ? [
          "one catch-up ping per model whose window is open; none for the missed pings of closed windows",
          "ModelCopy read back over the gap, so month to date and the daily summary lose no minute",
        ]
      : [
          "keep-alive pings follow the monotonic clock: none waits longer than the cadence",
          "planned pings already sent are not repeated",
        ];
    if (summarised) actions.push(`daily summary for ${summarised} written after the catch-up read`);
    this.#log.warn(
      {
        event: "clock-jump",
        direction: forward ? "forward" : "back",
        jumpSeconds: Math.round(Math.abs(jumpMs) / 1_000),
        from: new Date(last.wall + (monotonic - last.monotonic)).toISOString(),
        to: new Date(now).toISOString(),
        modelCopyReadFrom: new Date(readFrom).toISOString(),
        actions,
      },
      `wall clock jumped ${forward ? "forward" : "back"} ${formatDuration(Math.abs(jumpMs))}`,
    );
  }
}
