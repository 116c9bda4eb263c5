/** What the kernel says about a loop device, from /sys/block/loopN (present while it is bound). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCode } from './links.js';

export const SYS_BLOCK_DIR = '/sys/block';
/** The kernel's mark on a backing file that was unlinked while bound. */
const DELETED_SUFFIX = ' (deleted)';

export interface LoopStatus {
  /** The backing file's path as the kernel resolved it when the device was bound. */
  backingFile: string;
  offsetBytes: number;
  /** 0: up to the end of the backing file. */
  sizeLimitBytes: number;
  /** The device's current size, in 512-byte sectors. */
  sizeSectors: number;
  major: number;
  minor: number;
}

/** loopN of /dev/loopN, or null for any other path. */
export function loopNameOf(devicePath: string): string | null {
  const match = /^\/dev\/(loop[0-9]+)$/.exec(devicePath);
  return match?.[1] ?? null;
}

async function readAttribute(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if (isCode(error, 'ENOENT') || isCode(error, 'ENXIO')) return null;
    throw error;
  }
}

/** The loop device's binding, or null when it does not exist or is not bound. */
export async function loopStatus(name: string): Promise<LoopStatus | null> {
  const dir = join(SYS_BLOCK_DIR, name);
  const backing = await readAttribute(join(dir, 'loop', 'backing_file'));
  if (backing === null) return null;
  const [offset, sizeLimit, size, dev] = await Promise.all(
    ['loop/offset', 'loop/sizelimit', 'size', 'dev'].map((attr) => readAttribute(join(dir, attr))),
  );
  const [major, minor] = (dev ?? '').split(':').map(Number);
  if (offset == null || sizeLimit == null || size == null || major === undefined || minor === undefined) return null;
  return {
    backingFile: backing.endsWith(DELETED_SUFFIX) ? backing.slice(0, -DELETED_SUFFIX.length) : backing,
    offsetBytes: Number(offset),
    sizeLimitBytes: Number(sizeLimit),
    sizeSectors: Number(size),
    major,
    minor,
  };
}
