/**
 * host-id.conf: which host_id this host uses in which lockspace (`vg0 = 12`, or `* = 7` for every
 * lockspace not named). Absent file = no mappings (the daemon then picks ids itself).
 */
import { readFileSync } from 'node:fs';
import { MAX_HOST_ID } from '@leasehold/ondisk';
import { DaemonError } from '@leasehold/protocol';
import { parseKvText } from './kv-file.js';

export const DEFAULT_HOST_ID_CONF_PATH = '/etc/leasehold/host-id.conf';
const WILDCARD = '*';

export class HostIdMap {
  constructor(
    private readonly byLockspace: ReadonlyMap<string, number>,
    private readonly wildcard: number | undefined,
  ) {}

  static empty(): HostIdMap {
    return new HostIdMap(new Map(), undefined);
  }

  /** The configured host_id for a lockspace, if any (an exact entry wins over `*`). */
  lookup(lockspace: string): number | undefined {
    return this.byLockspace.get(lockspace) ?? this.wildcard;
  }
}

export function parseHostIdConf(text: string, sourceName: string): HostIdMap {
  const byLockspace = new Map<string, number>();
  let wildcard: number | undefined;
  for (const { key, value, line } of parseKvText(text, sourceName)) {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_HOST_ID) {
      throw new DaemonError('BAD_CONFIG', `${sourceName}:${line}: host_id must be 1-${MAX_HOST_ID}, got "${value}"`);
    }
    const hostId = Number(value);
    if (key === WILDCARD) {
      if (wildcard !== undefined) throw new DaemonError('BAD_CONFIG', `${sourceName}:${line}: "*" given twice`);
      wildcard = hostId;
    } else {
      if (byLockspace.has(key))
        throw new DaemonError('BAD_CONFIG', `${sourceName}:${line}: lockspace "${key}" given twice`);
      byLockspace.set(key, hostId);
    }
  }
  return new HostIdMap(byLockspace, wildcard);
}

/** Reads the file; a missing file is an empty map (it is optional), any other problem is an error. */
export function loadHostIdConf(path: string): HostIdMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return HostIdMap.empty();
    throw new DaemonError('BAD_CONFIG', `cannot read ${path}: ${(error as Error).message}`);
  }
  return parseHostIdConf(text, path);
}
