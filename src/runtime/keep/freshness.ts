import { MINUTE_MS } from "../../domain/units.js";
import type { WarmState } from "../infra/observer.js";
import type { Observation } from "./decide.js";

/**
 * A model's ModelCopy read this much later than its publishing delay and its next read was
 * due is stale: its state is shown as unknown, with the reason, until CloudWatch answers again.
 */
export const STALE_MARGIN_MS = 3 * MINUTE_MS;

/**
 * How old a model's last read may be before its state is stale: the publishing delay and the
 * margin past the minute its next read was due, `pollIntervalMs` (the interval its last read
 * was made at: a minute while something can change, 5 or 15 otherwise) after the last one.
 */
export function staleAfterMs(publishDelayMs: number, pollIntervalMs: number): number {
  return publishDelayMs + STALE_MARGIN_MS + Math.max(0, pollIntervalMs - MINUTE_MS);
}

/** What an operator is told of a model's state: the observation, or unknown and why. */
export interface Seen {
  readonly state: WarmState;
  readonly copies: number | undefined;
  /** Set when the last read is too old to tell the state: since when, and why. */
  readonly stale: { readonly asOf: number; readonly reason: string } | undefined;
}

/**
 * What ModelCopy says of the model, unless the last successful read of it is too old to say
 * anything: then the state is unknown, with since when and the failing call.
 */
export function seenState(
  observation: Observation,
  read: {
    readonly readThrough: number | undefined;
    readonly failure: string | undefined;
    readonly now: number;
    readonly publishDelayMs: number;
    /** The interval the model's last read was made at; a minute when left out. */
    readonly pollIntervalMs?: number;
  },
): Seen {
  const through = read.readThrough;
  const limit = staleAfterMs(read.publishDelayMs, read.pollIntervalMs ?? MINUTE_MS);
  if (through === undefined || read.now - through <= limit) {
    return { state: observation.state, copies: observation.copies, stale: undefined };
  }
  const failure = read.failure ?? "ModelCopy not read";
  return {
    state: "unknown",
    copies: undefined,
    stale: { asOf: through, reason: `${failure}; last read ${new Date(through).toISOString()}` },
  };
}

/** Why a model's spend is unknown: its CMU, or a month not read from CloudWatch yet. */
export function spendUnknownReason(
  cmuProblem: string | undefined,
  monthRead: boolean,
  failure: string | undefined,
): string | undefined {
  if (cmuProblem !== undefined || monthRead) return cmuProblem;
  return `month to date not read from CloudWatch yet${failure ? `: ${failure}` : ""}`;
}
