/**
 * Facts about a process from /proc. The start time (field 22 of /proc/PID/stat, clock ticks since
 * boot) identifies one incarnation of a pid: a reused pid has a different start time. That is how
 * holders recorded before a daemon restart are told apart from strangers that got the same pid.
 */
import { readFileSync } from 'node:fs';
import { DaemonError } from '@leasehold/protocol';

export interface ProcStat {
  pid: number;
  ppid: number;
  /** 'R', 'S', 'D', 'Z', ... */
  state: string;
  /** Clock ticks after boot. */
  startTime: bigint;
}

/** Parses /proc/PID/stat text. The command name may hold spaces and parentheses: split after the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (close === -1 || open === -1) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // Fields after the name start at field 3 (state).
  const rest = text.slice(close + 2).split(' ');
  const state = rest[0];
  const ppid = Number(rest[1]);
  const startTime = rest[19]; // field 22 = index 22 - 3
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime) || !Number.isInteger(pid))
    return undefined;
  return { pid, ppid, state, startTime: BigInt(startTime) };
}

/** The stat of a live process, or undefined when it is gone (or a zombie: it can no longer use anything). */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const stat = parseProcStat(text);
  if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return undefined;
  return stat;
}

/** True when the same incarnation (pid + start time) is still running. */
export function isSameProcessAlive(pid: number, startTime: bigint): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.startTime === startTime;
}

/** Supplementary group ids of a process (from /proc/PID/status), or [] if unreadable. */
export function readProcGroups(pid: number): number[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return [];
  }
  const line = text.split('\n').find((l) => l.startsWith('Groups:'));
  if (line === undefined) return [];
  return line
    .slice('Groups:'.length)
    .trim()
    .split(/\s+/)
    .filter((part) => /^\d+$/.test(part))
    .map(Number);
}

/** The command name of a process, for logs and status. */
export function readProcComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Overrides the boot id for an emulated host (the test cluster sets a new one at each emulated power
 * cycle, so that its daemon sees a reboot as a real host's would). Unset in production.
 */
export const BOOT_ID_ENV = 'LEASEHOLD_BOOT_ID';
const BOOT_ID_PATTERN = /^[0-9a-f][0-9a-f-]{0,63}$/;

/** The boot id: CLOCK_MONOTONIC values and start times are only comparable within one boot. */
export function readBootId(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[BOOT_ID_ENV];
  if (override !== undefined) {
    if (!BOOT_ID_PATTERN.test(override))
      throw new DaemonError(
        'BAD_CONFIG',
        `${BOOT_ID_ENV} must be a boot id (lowercase hex and dashes), got "${override}"`,
      );
    return override;
  }
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}
