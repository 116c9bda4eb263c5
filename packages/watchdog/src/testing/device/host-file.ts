/**
 * Which processes the test device resets: the emulated host recorded in a small JSON file by the
 * test cluster each time the host boots (its init's pid and pid namespace). The device reads it when
 * it fires, so a host rebooted since the device started is still the one reset.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { killNamespace, pidNamespaceOf } from '../host/pid-namespace.js';

export interface HostRecord {
  /** pid (in the cluster's namespace) of the host's init, the namespace's pid 1. */
  initPid: number;
  /** `pid:[inode]` of the host's pid namespace. */
  pidNamespace: string;
  bootedAt: string;
  /** This boot's id (a fresh UUID at each boot): what its processes see as the boot id. */
  bootId: string;
}

export function readHostRecord(path: string): HostRecord | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<HostRecord>;
    if (typeof value.initPid !== 'number' || typeof value.pidNamespace !== 'string') return undefined;
    return {
      initPid: value.initPid,
      pidNamespace: value.pidNamespace,
      bootedAt: String(value.bootedAt ?? ''),
      bootId: String(value.bootId ?? ''),
    };
  } catch {
    return undefined;
  }
}

export function writeHostRecord(path: string, record: HostRecord): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(record) + '\n');
  renameSync(`${path}.tmp`, path);
}

/** The recorded host, if it is still running (its init alive in the recorded namespace). */
export function runningHost(path: string): HostRecord | undefined {
  const record = readHostRecord(path);
  if (record === undefined || pidNamespaceOf(record.initPid) !== record.pidNamespace) return undefined;
  return record;
}

/** Kills every process of the host recorded at `path` (nothing when it is not running). */
export async function resetRecordedHost(path: string): Promise<Record<string, unknown>> {
  const record = runningHost(path);
  if (record === undefined) return { host: 'not running' };
  const { killed, leftAlive } = await killNamespace(record.initPid, record.pidNamespace);
  return { initPid: record.initPid, pidNamespace: record.pidNamespace, killed, leftAlive };
}
