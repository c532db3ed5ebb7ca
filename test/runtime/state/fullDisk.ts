import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  nodeStateFileSystem,
  type StateFileSystem,
} from "../../../src/runtime/state/stateFiles.js";

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error("ENOSPC: no space left on device, write"), {
    code: "ENOSPC",
    errno: -28,
    syscall: "write",
  });
}

/**
 * Node's file system with a disk of `free` bytes, as a full tmpfs behaves: a write larger
 * than what is left takes what is left and reports that many bytes, the next one fails
 * with ENOSPC. Truncating gives the space back. `failTruncate` makes the repair fail too.
 */
export function fullDisk(free: number, options: { failTruncate?: boolean } = {}) {
  const disk = { free, failTruncate: options.failTruncate ?? false };
  const fs: StateFileSystem = {
    ...nodeStateFileSystem,
    async open(path, flags) {
      const file = await nodeStateFileSystem.open(path, flags);
      return {
        read: (b, o, l, p) => file.read(b, o, l, p),
        stat: () => file.stat(),
        sync: () => file.sync(),
        close: () => file.close(),
        async write(buffer, offset, length, position) {
          if (disk.free <= 0) throw enospc();
          const take = Math.min(length, disk.free);
          const { bytesWritten } = await file.write(buffer, offset, take, position);
          disk.free -= bytesWritten;
          return { bytesWritten };
        },
        async truncate(length) {
          if (disk.failTruncate) throw Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
          const before = (await file.stat()).size;
          await file.truncate(length);
          disk.free += Math.max(0, before - length);
        },
      };
    },
  };
  return { fs, disk };
}

/**
 * A real 16 KiB tmpfs, when this process may mount one (root on Linux); undefined otherwise.
 * `unmount` must be called when done.
 */
export function tryTmpfs(): { dir: string; unmount: () => void } | undefined {
  if (process.platform !== "linux") return undefined;
  const dir = mkdtempSync(join(tmpdir(), "kw-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", dir], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  return { dir, unmount: () => execFileSync("umount", [dir]) };
}
