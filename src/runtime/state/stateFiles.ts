import { constants } from "node:fs";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { KeepwarmError } from "../../domain/errors.js";
import { trackStateIo } from "../infra/shutdown.js";

/** The few calls on an open file that state files need; node's FileHandle has them all. */
export interface StateFileHandle {
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<{ bytesWritten: number }>;
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  stat(): Promise<StateFileStat>;
  truncate(length: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** What fstat says of an open state file; node's Stats has it all. */
export interface StateFileStat {
  readonly size: number;
  isFile(): boolean;
  isFIFO?(): boolean;
  isDirectory?(): boolean;
  isCharacterDevice?(): boolean;
  isBlockDevice?(): boolean;
  isSocket?(): boolean;
}

/**
 * The file system under the state directory. Injected so a full disk, a short write or a
 * failing fsync can be reproduced without one.
 */
export interface StateFileSystem {
  /** `flags` as node's open takes them: a string ("w") or O_* constants or'd together. */
  open(path: string, flags: string | number): Promise<StateFileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
}

export const nodeStateFileSystem: StateFileSystem = {
  open: (path, flags) => open(path, flags),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
};

/** A state file that could not be written; the file holds what it held before. */
export class StateFileError extends KeepwarmError {
  override readonly name = "StateFileError";
  readonly path: string;
  /** errno name, e.g. "ENOSPC"; "ESHORT" when the disk took part of a write without an error. */
  readonly code: string;

  constructor(path: string, what: string, cause: unknown) {
    const code = errnoOf(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`cannot ${what} ${path}: ${code}: ${detail}`, { cause, subject: path });
    this.path = path;
    this.code = code;
  }
}

/** Opening a state file to append: created if missing; a FIFO or a device never blocks. */
const APPEND_FLAGS =
  constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK;
/** Opening a state file to read: a FIFO or a device never blocks the open. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Thrown inside writeAll when a write returns 0 bytes: the disk took nothing and said nothing. */
class ShortWriteError extends KeepwarmError {
  override readonly name = "ShortWriteError";
  readonly code = "ESHORT";
}

function errnoOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : "EIO";
}

/** Writes every byte or throws; a write may take only part of a buffer when the disk fills. */
async function writeAll(file: StateFileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, null);
    if (bytesWritten <= 0) {
      throw new ShortWriteError(`wrote ${done} of ${bytes.length} bytes`);
    }
    done += bytesWritten;
  }
}

/**
 * Appends `line` and a newline, fsync'd, whole or not at all. A failed or short write is cut
 * back off, so a full disk leaves no fragment; if even that fails, the next append sees the
 * tail without a newline and starts on a fresh line, so only the fragment is unreadable.
 */
export async function appendLine(
  path: string,
  line: string,
  fs: StateFileSystem = nodeStateFileSystem,
): Promise<void> {
  if (line.includes("\n")) throw new RangeError("a state file line must not contain a newline");
  return trackStateIo(path, appendWhole(path, line, fs));
}

async function appendWhole(path: string, line: string, fs: StateFileSystem): Promise<void> {
  try {
    await fs.mkdir(dirname(path));
  } catch (error) {
    throw new StateFileError(dirname(path), "create the directory", error);
  }
  let file: StateFileHandle;
  try {
    // Non-blocking: a FIFO put there cannot hold the open, nor a write once its pipe is full.
    file = await fs.open(path, APPEND_FLAGS);
  } catch (error) {
    throw new StateFileError(path, "open", error);
  }
  try {
    let stat: StateFileStat;
    try {
      stat = await file.stat();
    } catch (error) {
      throw new StateFileError(path, "append to", error);
    }
    if (!stat.isFile()) throw new StateFileError(path, "append to", notRegular(path, stat));
    const size = stat.size;
    const fresh = size > 0 && !(await endsWithNewline(file, size));
    const bytes = Buffer.from(`${fresh ? "\n" : ""}${line}\n`, "utf8");
    try {
      await writeAll(file, bytes);
      await file.sync();
    } catch (error) {
      await file.truncate(size).catch(() => undefined);
      throw new StateFileError(path, "append to", error);
    }
  } finally {
    await file.close().catch(() => undefined);
  }
}

async function endsWithNewline(file: StateFileHandle, size: number): Promise<boolean> {
  const last = Buffer.alloc(1);
  try {
    const { bytesRead } = await file.read(last, 0, 1, size - 1);
    return bytesRead === 1 && last[0] === 0x0a;
  } catch {
    // Unreadable tail: a fresh line costs one empty line at worst.
    return false;
  }
}

let tempCounter = 0;

/**
 * Replaces `path` with `data` atomically: written to a temporary file beside it, fsync'd,
 * renamed over it, and the directory fsync'd. A reader sees the old file or the new one,
 * never a part; a full disk leaves the old file as it was.
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  fs: StateFileSystem = nodeStateFileSystem,
): Promise<void> {
  return trackStateIo(path, replaceWhole(path, data, fs));
}

async function replaceWhole(
  path: string,
  data: string | Uint8Array,
  fs: StateFileSystem,
): Promise<void> {
  const dir = dirname(path);
  try {
    await fs.mkdir(dir);
  } catch (error) {
    throw new StateFileError(dir, "create the directory", error);
  }
  tempCounter += 1;
  const temp = `${path}.tmp-${process.pid}-${tempCounter}`;
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  try {
    const file = await fs.open(temp, "w");
    try {
      await writeAll(file, bytes);
      await file.sync();
    } finally {
      await file.close().catch(() => undefined);
    }
    await fs.rename(temp, path);
  } catch (error) {
    await fs.unlink(temp).catch(() => undefined);
    throw new StateFileError(path, "write", error);
  }
  await syncDirectory(dir, fs);
}

/** Makes a rename durable; some file systems refuse fsync on a directory, which is no error. */
export async function syncDirectory(
  dir: string,
  fs: StateFileSystem = nodeStateFileSystem,
): Promise<void> {
  try {
    const handle = await fs.open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close().catch(() => undefined);
    }
  } catch {
    return;
  }
}

/** How long a state file may take to read before it is given up on (a stale NFS mount). */
export const STATE_READ_TIMEOUT_MS = 5_000;

/** Why a state file was not read although it is there. */
export type RefusalCode = "ENOTREG" | "EFBIG" | "ETIMEDOUT";

/**
 * A state file keepwarm will not read: not a regular file (a FIFO, a device, a directory),
 * larger than any fleet writes, or no answer in time. The file is left as it is.
 */
export class StateFileRefusedError extends KeepwarmError {
  override readonly name = "StateFileRefusedError";
  readonly path: string;
  readonly code: RefusalCode;
  /** Bytes, when the file was refused for its size. */
  readonly size: number | undefined;
  readonly maxBytes: number | undefined;

  constructor(
    path: string,
    code: RefusalCode,
    message: string,
    sizes: { size?: number; maxBytes?: number } = {},
  ) {
    super(message, { subject: path });
    this.path = path;
    this.code = code;
    this.size = sizes.size;
    this.maxBytes = sizes.maxBytes;
  }
}

function kindOf(stat: StateFileStat): string {
  if (stat.isFIFO?.()) return "a FIFO";
  if (stat.isDirectory?.()) return "a directory";
  if (stat.isCharacterDevice?.() || stat.isBlockDevice?.()) return "a device";
  if (stat.isSocket?.()) return "a socket";
  return "not a regular file";
}

/** The error for a state file found to be a FIFO, a device or a directory. */
export function notRegular(path: string, stat: StateFileStat): StateFileRefusedError {
  return new StateFileRefusedError(
    path,
    "ENOTREG",
    `${path} is ${kindOf(stat)}, not a regular file: not read, left as it is`,
  );
}

function tooLarge(path: string, size: number, maxBytes: number): StateFileRefusedError {
  return new StateFileRefusedError(
    path,
    "EFBIG",
    `${path} is ${size} bytes, more than the ${maxBytes} bytes keepwarm ever writes there: not read, left as it is`,
    { size, maxBytes },
  );
}

export interface StateReadOptions {
  /** The largest file taken; a larger one is refused before a byte of it is read. */
  readonly maxBytes: number;
  readonly fs?: StateFileSystem | undefined;
  readonly timeoutMs?: number | undefined;
}

/**
 * The text of a state file, read only if it is a regular file of at most `maxBytes`: opened
 * non-blocking and fstat'd before anything is read, so a FIFO cannot hold start-up and a huge
 * file cannot exhaust memory. A read with no answer in `timeoutMs` is given up on (it goes on
 * in the background and is abandoned at exit). A missing file throws node's ENOENT error;
 * a refused one a StateFileRefusedError.
 */
export function readStateFile(path: string, options: StateReadOptions): Promise<string> {
  const fs = options.fs ?? nodeStateFileSystem;
  const timeoutMs = options.timeoutMs ?? STATE_READ_TIMEOUT_MS;
  const work = trackStateIo(path, readBounded(path, options.maxBytes, fs));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StateFileRefusedError(
            path,
            "ETIMEDOUT",
            `${path} gave no answer in ${timeoutMs / 1000} s (a stale network mount?): not read`,
          ),
        ),
      timeoutMs,
    );
  });
  // The read may settle after the timeout: nothing waits for it then.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Opens a state file to read without blocking (a FIFO cannot hold the open) and refuses
 * what is not a regular file; the caller closes it.
 */
export async function openRegular(
  path: string,
  fs: StateFileSystem = nodeStateFileSystem,
): Promise<{ file: StateFileHandle; size: number }> {
  const file = await fs.open(path, READ_FLAGS);
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw notRegular(path, stat);
    return { file, size: stat.size };
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
}

async function readBounded(path: string, maxBytes: number, fs: StateFileSystem): Promise<string> {
  const { file, size } = await openRegular(path, fs);
  try {
    if (size > maxBytes) throw tooLarge(path, size, maxBytes);
    // One byte more than the size fstat gave: a file that grew since is seen to.
    let buffer = Buffer.allocUnsafe(size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw tooLarge(path, length, maxBytes);
        const grown = Buffer.allocUnsafe(Math.min(maxBytes + 1, length * 2));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.toString("utf8", 0, length);
  } finally {
    await file.close().catch(() => undefined);
  }
}

/** A line of a JSON-lines state file that was not taken. */
export interface SkippedLine {
  /** 1-based. */
  readonly line: number;
  readonly reason: string;
}

export interface JsonLines<T> {
  readonly records: T[];
  readonly skipped: SkippedLine[];
}

/**
 * The records of a JSON-lines text; a line that does not parse or that `accept` refuses is
 * skipped with its number. A line an older writer glued onto a torn fragment is recovered
 * from where its `marker` (the text every record starts with) begins.
 */
export function parseJsonLines<T>(
  text: string,
  accept: (value: unknown) => value is T,
  marker: string,
): JsonLines<T> {
  const records: T[] = [];
  const skipped: SkippedLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "") continue;
    const whole = parseRecord(line, accept);
    if (whole.ok) {
      records.push(whole.value);
      continue;
    }
    const at = line.lastIndexOf(marker);
    const tail = at > 0 ? parseRecord(line.slice(at), accept) : undefined;
    if (tail?.ok) {
      records.push(tail.value);
      skipped.push({
        line: i + 1,
        reason: `a torn fragment of ${Buffer.byteLength(line.slice(0, at))} bytes before the record was skipped`,
      });
      continue;
    }
    skipped.push({ line: i + 1, reason: whole.reason });
  }
  return { records, skipped };
}

function parseRecord<T>(
  line: string,
  accept: (value: unknown) => value is T,
): { ok: true; value: T } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` };
  }
  return accept(value) ? { ok: true, value } : { ok: false, reason: "JSON, but not a record" };
}
