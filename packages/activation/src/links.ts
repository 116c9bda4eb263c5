/** The `<device_dir>/<vg>/<lv>` links every backend makes, as lvm makes /dev/<vg>/<lv>. */
import { mkdir, readlink, rename, rmdir, symlink, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function linkPathOf(deviceDir: string, vgName: string, lvName: string): string {
  return join(deviceDir, vgName, lvName);
}

/** Points the link at the device, replacing whatever link was there (atomically, by rename). */
export async function makeLink(linkPath: string, devicePath: string): Promise<void> {
  await mkdir(dirname(linkPath), { recursive: true });
  const temporary = `${linkPath}.${process.pid}.tmp`;
  await unlink(temporary).catch(() => undefined);
  await symlink(devicePath, temporary);
  await rename(temporary, linkPath);
}

/** Where the link points, or null when there is no link. */
export async function readLink(linkPath: string): Promise<string | null> {
  try {
    return await readlink(linkPath);
  } catch (error) {
    if (isCode(error, 'ENOENT') || isCode(error, 'EINVAL')) return null;
    throw error;
  }
}

/** Removes the link if it is there, and the VG's directory once it is empty (as lvm removes /dev/<vg>). */
export async function removeLink(linkPath: string): Promise<void> {
  try {
    await unlink(linkPath);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
  await rmdir(dirname(linkPath)).catch(() => undefined);
}

export function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
