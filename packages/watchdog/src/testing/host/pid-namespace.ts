/**
 * An emulated host is a pid namespace (with its own mount namespace, /proc and /dev/shm): `unshare
 * --fork --pid --mount --mount-proc` starts it, `nsenter` runs processes in it. Killing the
 * namespace's init makes the kernel SIGKILL every other process in it, which is what a reset must
 * do: no process can escape it by changing its session or process group.
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

/** The pid namespace of a process as `pid:[inode]`, or undefined when it is gone. */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** Pids (as seen from here) of every process in the namespace. */
export function processesInNamespace(namespace: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pidNamespaceOf(pid) === namespace) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

/** The argv of a process ([] when it is gone). */
export function commandLineOf(pid: number): string[] {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part, index, all) => part !== '' || index < all.length - 1);
  } catch {
    return [];
  }
}

/** One-letter process state from /proc/PID/stat (R, S, D, T, Z, ...), undefined when gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/**
 * Thaws the cgroup-v1 freezer group a process sits in. A frozen task (the tests' stand-in for a
 * process stuck in the kernel) ignores SIGKILL until thawed; a hardware reset does not care, so the
 * emulated reset thaws it to let the kill through.
 */
export function thawFreezerOf(pid: number): boolean {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return false;
  }
  for (const line of text.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers === undefined || path === undefined || path === '/' || !controllers.split(',').includes('freezer'))
      continue;
    try {
      writeFileSync(`/sys/fs/cgroup/freezer${path}/freezer.state`, 'THAWED');
      return true;
    } catch {
      return false;
    }
  }
  return false;
}

export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** The parent pid of a process (from /proc/PID/status), undefined when gone. */
export function parentOf(pid: number): number | undefined {
  try {
    const match = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * A process of the namespace whose parent lives outside it (nsenter, for `cluster exec`) is reaped
 * by that parent only. If the parent is stopped (nsenter stops itself when its child is stopped),
 * the dead child stays a zombie and the namespace's init can never finish dying: continue it.
 */
function continueOutsideParents(pids: number[], namespace: string): void {
  for (const pid of pids) {
    const parent = parentOf(pid);
    if (parent !== undefined && parent > 0 && pidNamespaceOf(parent) !== namespace) signal(parent, 'SIGCONT');
  }
}

const RESET_POLL_MS = 20;
const RESET_GIVE_UP_MS = 10_000;

/**
 * SIGKILL to every process of the namespace (its init first, so that the kernel kills the rest even
 * if one is forked meanwhile), thawing frozen ones, until none is left. Resolves to the pids killed.
 */
export async function killNamespace(
  initPid: number,
  namespace: string,
): Promise<{ killed: number[]; leftAlive: number[] }> {
  const killed = new Set<number>();
  if (pidNamespaceOf(initPid) === namespace) {
    signal(initPid, 'SIGKILL');
    killed.add(initPid);
  }
  const deadline = Date.now() + RESET_GIVE_UP_MS;
  for (;;) {
    const present = processesInNamespace(namespace);
    continueOutsideParents(present, namespace);
    const left = present.filter(isRunning);
    if (left.length === 0) return { killed: [...killed].sort((a, b) => a - b), leftAlive: [] };
    for (const pid of left) {
      signal(pid, 'SIGKILL');
      if (processState(pid) === 'D') thawFreezerOf(pid);
      killed.add(pid);
    }
    if (Date.now() > deadline) return { killed: [...killed].sort((a, b) => a - b), leftAlive: left };
    await new Promise((resolve) => setTimeout(resolve, RESET_POLL_MS));
  }
}
