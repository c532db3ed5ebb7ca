/**
 * Time as everything outside the runtime's own timers sees it: a reading of `now()`. The
 * daemon's clock extends it with timers; the simulator answers every call as a function of it.
 */
export interface Clock {
  now(): number;
}
