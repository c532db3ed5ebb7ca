/** Process exit codes of every keepwarm command. */
export const ExitCode = {
  ok: 0,
  /** A runtime failure: a file that cannot be written, a port in use, an AWS call that failed. */
  failure: 1,
  /** Bad input: an invalid config or command line. Nothing was started. */
  badInput: 2,
  /** `keepwarm reconcile`: AWS's bill and keepwarm's differ on at least one final day. */
  mismatch: 3,
} as const;
