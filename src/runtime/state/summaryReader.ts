import { join } from "node:path";
import { KeepwarmError } from "../../domain/errors.js";
import {
  openRegular,
  parseJsonLines,
  type SkippedLine,
  type StateFileHandle,
} from "./stateFiles.js";
import {
  CHUNK_BYTES,
  type DailySummary,
  SUMMARIES_FILE,
  SUMMARY_LINE_START,
  SUMMARY_MAX_LINE_BYTES,
} from "./summaries.js";

/** summaries.jsonl could not be read at all. */
export class SummaryFileError extends KeepwarmError {
  override readonly name = "SummaryFileError";
}

export interface SummaryFile {
  readonly path: string;
  /** Oldest first. */
  readonly summaries: DailySummary[];
  /** Lines that are not a summary (a fragment left by a full disk, a hand edit). */
  readonly skipped: SkippedLine[];
}

function isSummary(value: unknown): value is DailySummary {
  const s = value as Partial<DailySummary> | null;
  return (
    typeof s === "object" && s !== null && typeof s.date === "string" && Array.isArray(s.models)
  );
}

/**
 * Every summary in `stateDir`'s summaries.jsonl; none when the file does not exist yet. A
 * line that is not a summary is skipped and named, never a reason to drop the others.
 */
export function readSummaries(stateDir: string): Promise<SummaryFile> {
  return readRecentSummaries(stateDir, Number.POSITIVE_INFINITY);
}

/**
 * The summaries of the last `days` dates of summaries.jsonl (and any other line of those
 * dates), oldest first, as readSummaries gives them: the file is read backwards a chunk at a
 * time until `days` dates have been found and a line older than all of them is met, so a
 * report of a week reads a week's lines whatever the file's size. A line longer than
 * SUMMARY_MAX_LINE_BYTES is skipped without being held in memory. Skipped lines are
 * numbered from the start of the file, as an editor shows them.
 */
export async function readRecentSummaries(stateDir: string, days: number): Promise<SummaryFile> {
  const path = join(stateDir, SUMMARIES_FILE);
  let source: { file: StateFileHandle; size: number };
  try {
    source = await openRegular(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return { path, summaries: [], skipped: [] };
    }
    throw new SummaryFileError(`cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { file, size } = source;
  try {
    const newestFirst: DailySummary[] = [];
    /** Skipped lines by the offset they start at. */
    const skippedAt: { start: number; reason: string }[] = [];
    const dates = new Set<string>();
    let oldestNeeded: string | undefined;
    for await (const line of linesBackwards(file, size, SUMMARY_MAX_LINE_BYTES)) {
      if (line.text === undefined) {
        skippedAt.push({
          start: line.start,
          reason: `longer than ${SUMMARY_MAX_LINE_BYTES} bytes (${line.length}): not read`,
        });
        continue;
      }
      if (line.text.trim() === "") continue;
      const parsed = parseJsonLines(line.text, isSummary, SUMMARY_LINE_START);
      for (const s of parsed.skipped) skippedAt.push({ start: line.start, reason: s.reason });
      const summary = parsed.records[0];
      if (!summary) continue;
      if (oldestNeeded !== undefined && summary.date < oldestNeeded) break;
      newestFirst.push(summary);
      dates.add(summary.date);
      if (oldestNeeded === undefined && dates.size >= days) {
        oldestNeeded = [...dates].sort().at(-days);
      }
    }
    const skipped = await numberLines(file, skippedAt);
    return { path, summaries: newestFirst.reverse(), skipped };
  } catch (error) {
    throw new SummaryFileError(`cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await file.close().catch(() => undefined);
  }
}

interface BackwardLine {
  /** Offset of the line's first byte. */
  readonly start: number;
  /** Its bytes, without the newline; undefined when longer than the bound. */
  readonly text: string | undefined;
  readonly length: number;
}

/** The lines of `file`, last first, each held whole only if at most `maxLine` bytes. */
async function* linesBackwards(
  file: StateFileHandle,
  size: number,
  maxLine: number,
): AsyncGenerator<BackwardLine> {
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  /** The end of the line being gathered, and its bytes so far (last chunk first). */
  let pieces: Buffer[] = [];
  let length = 0;
  const take = (start: number): BackwardLine => {
    const text = length > maxLine ? undefined : Buffer.concat(pieces.reverse()).toString("utf8");
    const line = { start, text, length };
    pieces = [];
    length = 0;
    return line;
  };
  const keep = (bytes: Buffer) => {
    length += bytes.length;
    // Past the bound the bytes are only counted.
    if (length <= maxLine) pieces.push(Buffer.from(bytes));
    else pieces = [];
  };
  for (let pos = size; pos > 0; ) {
    const from = Math.max(0, pos - CHUNK_BYTES);
    const { bytesRead } = await file.read(buffer, 0, pos - from, from);
    if (bytesRead < pos - from) throw new Error(`${pos - from - bytesRead} bytes short at ${from}`);
    let end = bytesRead;
    while (end > 0) {
      const i = buffer.lastIndexOf(0x0a, end - 1);
      if (i === -1) break;
      keep(buffer.subarray(i + 1, end));
      const line = take(from + i + 1);
      // The newline that ends the file starts no line.
      if (!(line.start === size && line.length === 0)) yield line;
      end = i;
    }
    keep(buffer.subarray(0, end));
    pos = from;
  }
  if (size > 0) yield take(0);
}

/** Line numbers (from 1) of the lines starting at the given offsets, oldest first. */
async function numberLines(
  file: StateFileHandle,
  at: readonly { start: number; reason: string }[],
): Promise<SkippedLine[]> {
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  const out: SkippedLine[] = [];
  let pos = 0;
  let newlines = 0;
  for (const s of [...at].sort((a, b) => a.start - b.start)) {
    while (pos < s.start) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK_BYTES, s.start - pos), pos);
      if (bytesRead === 0) break;
      for (
        let i = buffer.indexOf(0x0a);
        i !== -1 && i < bytesRead;
        i = buffer.indexOf(0x0a, i + 1)
      ) {
        newlines++;
      }
      pos += bytesRead;
    }
    out.push({ line: newlines + 1, reason: s.reason });
  }
  return out;
}
