import { mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * A ConfigMap volume as the kubelet's AtomicWriter lays it out in `dir` (the mount point):
 * the data in a timestamped directory, `..data` a relative symlink to it, and each key a
 * relative symlink through `..data`.
 */
export async function kubeletMount(
  dir: string,
  key: string,
  content: string,
  stamp = "2026_12_01_10_00_00.123456789",
): Promise<void> {
  const data = `..${stamp}`;
  await mkdir(join(dir, data), { recursive: true });
  await writeFile(join(dir, data, key), content);
  await symlink(data, join(dir, "..data"));
  await symlink(join("..data", key), join(dir, key));
}

/**
 * The kubelet's update, step by step as AtomicWriter does it: a new timestamped directory
 * with the payload, a symlink `..data_tmp` to it, `..data_tmp` renamed over `..data`, then
 * the old timestamped directory removed. The key's own symlink is never touched.
 */
export async function kubeletUpdate(
  dir: string,
  key: string,
  content: string,
  stamp: string,
): Promise<void> {
  const old = await readlink(join(dir, "..data"));
  const data = `..${stamp}`;
  await mkdir(join(dir, data));
  await writeFile(join(dir, data, key), content);
  await symlink(data, join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  await rm(join(dir, old), { recursive: true, force: true });
}
