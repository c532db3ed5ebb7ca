import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/runtime/logger.js";

/** The daemon's own logger, with its JSON lines parsed into `lines` for assertions on events. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ level: "debug", destination: sink }), lines };
}
