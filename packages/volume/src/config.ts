/**
 * Which devices the volume commands look at: devices named explicitly, or the `devices` filter of
 * leasehold.conf (paths and globs), or a default scan of the usual block devices.
 *
 * leasehold.conf keys read here (others belong to the daemon and are ignored):
 *   devices = /dev/sdb, /dev/sdc*, /srv/images/*.img   paths or globs, comma- or space-separated
 *   locking_dir = /run/lock/lvm                        where the per-VG flock files live (lvm's)
 *   metadata_cache_dir = /run/leasehold/metadata-cache parsed metadata texts kept between commands
 *                                                      (text-cache.ts); `none` turns it off
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseKvText } from '@leasehold/daemon/config-file';
import { VolumeError } from './errors.js';
import { DEFAULT_LOCKING_DIR } from './lock.js';
import { DEFAULT_METADATA_CACHE_DIR } from './text-cache.js';

/** metadata_cache_dir value that turns the cache off. */
export const NO_METADATA_CACHE = 'none';

export const DEFAULT_VOLUME_CONFIG_PATH = '/etc/leasehold/leasehold.conf';
/** Scanned when neither devices nor a `devices` filter are given. */
export const DEFAULT_DEVICE_PATTERNS = [
  '/dev/loop[0-9]*',
  '/dev/sd*',
  '/dev/vd*',
  '/dev/xvd*',
  '/dev/nvme*n*',
  '/dev/mapper/*',
] as const;
/** A bound on devices one scan looks at. */
export const MAX_SCANNED_DEVICES = 4096;

export interface VolumeConfig {
  /** Paths and globs from `devices =`; undefined when the file has none. */
  devices?: string[];
  lockingDir: string;
  /** Where parsed metadata texts are kept between commands; undefined: no cache. */
  metadataCacheDir?: string;
}

/** Reads leasehold.conf. An explicit path that does not exist is an error; the default path may be absent. */
export function loadVolumeConfig(path?: string): VolumeConfig {
  const file = path ?? DEFAULT_VOLUME_CONFIG_PATH;
  const config: VolumeConfig = { lockingDir: DEFAULT_LOCKING_DIR, metadataCacheDir: DEFAULT_METADATA_CACHE_DIR };
  if (!existsSync(file)) {
    if (path !== undefined) throw new VolumeError('BAD_CONFIG', `Config file ${file} not found.`);
    return config;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new VolumeError('BAD_CONFIG', `Cannot read config file ${file}: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  }
  let entries;
  try {
    entries = parseKvText(text, file);
  } catch (error) {
    throw new VolumeError('BAD_CONFIG', (error as Error).message, undefined, { cause: error });
  }
  for (const entry of entries) {
    if (entry.key === 'devices') config.devices = entry.value.split(/[\s,]+/).filter((s) => s !== '');
    if (entry.key === 'locking_dir') config.lockingDir = entry.value;
    if (entry.key === 'metadata_cache_dir') {
      if (entry.value === NO_METADATA_CACHE || entry.value === '') delete config.metadataCacheDir;
      else config.metadataCacheDir = entry.value;
    }
  }
  return config;
}

function deviceIdentity(path: string): string {
  try {
    const st = statSync(path);
    return st.isBlockDevice() ? `b:${st.rdev}` : `f:${st.dev}:${st.ino}`;
  } catch {
    return `p:${path}`;
  }
}

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i);
      if (close === -1) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, close).replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

function hasGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Expands paths and globs (globs in the last path component only) to existing block devices and files. */
export function expandDevicePatterns(patterns: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  // One device reached by two names (a link in /dev/disk/by-id, a glob and an explicit path) is
  // scanned once, or its PV would look duplicated: the identity is the device number or the inode.
  const add = (p: string): void => {
    if (out.length >= MAX_SCANNED_DEVICES) return;
    const key = deviceIdentity(p);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(p);
  };
  for (const pattern of patterns) {
    if (!hasGlob(pattern)) {
      add(pattern);
      continue;
    }
    const dir = dirname(pattern);
    const re = globToRegExp(basename(pattern));
    let names: string[];
    try {
      names = readdirSync(dir).sort(naturalCompare);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!re.test(name) || name === 'control') continue;
      const full = join(dir, name);
      try {
        const st = statSync(full);
        if (st.isBlockDevice() || st.isFile()) add(full);
      } catch {
        // vanished or unreadable: not ours to report
      }
    }
  }
  return out;
}

/** loop2 before loop10. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The device list of a command: explicit devices win, then the config's filter, then the default scan. */
export function devicesToScan(explicit: readonly string[] | undefined, config: VolumeConfig): string[] {
  if (explicit !== undefined && explicit.length > 0) return expandDevicePatterns(explicit);
  return expandDevicePatterns(config.devices ?? DEFAULT_DEVICE_PATTERNS);
}
