/**
 * What every keepwarm error carries beyond a message: the error that caused it, and the file,
 * ARN or config path it is about, so a log line can say where to look.
 */
export interface KeepwarmErrorOptions {
  readonly cause?: unknown;
  /** The file, ARN, URL or config path the error is about. */
  readonly subject?: string | undefined;
}

/**
 * The base of keepwarm's own errors. Subclasses set `name` (log lines and tests match on
 * it) and add the fields an operator needs to act.
 */
export class KeepwarmError extends Error {
  override readonly name: string = "KeepwarmError";
  readonly subject: string | undefined;

  constructor(message: string, options: KeepwarmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.subject = options.subject;
  }
}
