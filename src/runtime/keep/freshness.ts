import { MINUTE_MS } from "../../domain/units.js";
import type { WarmState } from "../infra/observer.js";
import type { Observation } from "./decide.js";

/**
 * A model's ModelCopy read this much later than its publishing delay is stale: its state is
 * shown as unknown, with the reason, until CloudWatch answers again.
 */
export const STALE_MARGIN_MS = 3 * MINUTE_MS;

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
  },
): Seen {
  const through = read.readThrough;
  if (through === undefined || read.now - through <= read.publishDelayMs + STALE_MARGIN_MS) {
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
