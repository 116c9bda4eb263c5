/**
 * A peer host of the chaos run (the real sanlock, or lvmlockd + sanlock): a private mount namespace
 * with tmpfs over /run and /dev/mapper, held open by a `sleep`, so that the daemons' default paths
 * (/run/sanlock, /run/lvm/lvmlockd.socket, /run/lvmlockd.pid, which lvm checks) are its own and
 * nothing global is touched. The recipe of the testkit's lvmlockd hosts
 * (/work/shared/spec/lvmlockd-real.md): sanlock runs unprivileged, without a watchdog.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandOutcome } from './in-host.js';

export const NSENTER = '/usr/bin/nsenter';
export const UNSHARE = '/usr/bin/unshare';
export const SANLOCK = '/usr/sbin/sanlock';
/** Only what the tools need: the harness's own environment must not leak into a peer. */
export const PEER_ENV: Readonly<NodeJS.ProcessEnv> = {
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C',
  LVM_SUPPRESS_FD_WARNINGS: '1',
};
const START_TIMEOUT_MS = 15_000;
const POLL_MS = 100;
const KILL_WAIT_MS = 3000;
const OUTPUT_LIMIT_CHARS = 16_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` and waits up to timeoutMs for the process to be gone. */
export async function killAndWait(pid: number, signal: NodeJS.Signals, timeoutMs = KILL_WAIT_MS): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch {
    return true;
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await sleep(POLL_MS);
  return !alive(pid);
}

export class PeerNamespace {
  /** Daemons and helpers started in the namespace, stopped (last first) by stop(). */
  private readonly started: number[] = [];

  private constructor(
    readonly dir: string,
    readonly holderPid: number,
  ) {}

  static async start(dir: string): Promise<PeerNamespace> {
    mkdirSync(dir, { recursive: true });
    // `mount -n`: a plain mount would make libmount create /run/mount globally first.
    const script = [
      'mount -n -t tmpfs -o mode=755 chaos-peer-run /run',
      'mkdir -p /run/lvm /run/sanlock /run/lock/lvm',
      'mount -n -t tmpfs -o mode=755 chaos-peer-mapper /dev/mapper',
      'exec sleep infinity',
    ].join(' && ');
    const holder = spawn(UNSHARE, ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', script], {
      env: PEER_ENV,
      stdio: 'ignore',
      detached: true,
    });
    holder.unref();
    const pid = holder.pid;
    if (pid === undefined) throw new Error(`${dir}: unshare did not start`);
    const peer = new PeerNamespace(dir, pid);
    // The holder execs sleep only once its private mounts are in place.
    await peer.waitUntil('the namespace', async () => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    });
    return peer;
  }

  async waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`${this.dir}: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(POLL_MS);
    }
  }

  /** Runs argv in the namespace to its end (SIGKILL after timeoutMs). Never throws. */
  exec(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CommandOutcome> {
    return new Promise((done) => {
      const child = spawn(NSENTER, ['-t', String(this.holderPid), '-m', '--', ...argv], {
        env: { ...PEER_ENV, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (data: Buffer) => {
        if (stdout.length < OUTPUT_LIMIT_CHARS) stdout += data.toString();
      });
      child.stderr.on('data', (data: Buffer) => {
        if (stderr.length < OUTPUT_LIMIT_CHARS) stderr += data.toString();
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        done({ status: null, signal: null, stdout, stderr: stderr + error.message, timedOut });
      });
      child.once('close', (status, signal) => {
        clearTimeout(timer);
        done({ status, signal, stdout, stderr, timedOut });
      });
    });
  }

  /**
   * Starts a long-running argv in the namespace (nsenter execs it: no fork for a mount namespace, so
   * the pid is the program's own), its output to `logName` in the peer's directory.
   */
  spawn(argv: string[], env: NodeJS.ProcessEnv, logName: string): ChildProcess {
    const fd = openSync(join(this.dir, logName), 'a');
    try {
      const child = spawn(NSENTER, ['-t', String(this.holderPid), '-m', '--', ...argv], {
        env: { ...PEER_ENV, ...env },
        stdio: ['ignore', fd, fd],
        detached: true,
      });
      child.unref();
      if (child.pid === undefined) throw new Error(`${this.dir}: could not start ${argv[0]}`);
      this.started.push(child.pid);
      return child;
    } finally {
      closeSync(fd);
    }
  }

  /** Whether a Unix socket exists at `path` inside the namespace. */
  async hasSocket(path: string): Promise<boolean> {
    return (await this.exec(['/usr/bin/test', '-S', path], {}, START_TIMEOUT_MS)).status === 0;
  }

  /** Starts the namespace's sanlock daemon (host name `hostName`) and waits for its socket. */
  async startSanlock(hostName: string): Promise<number> {
    // Without CAP_SYS_RESOURCE sanlock exits unless SANLOCK_PRIVILEGED=0. -w 0: no watchdog device.
    const child = this.spawn(
      [
        SANLOCK,
        'daemon',
        '-D',
        '-w',
        '0',
        '-l',
        '0',
        '-U',
        'root',
        '-G',
        'root',
        '-L',
        '-1',
        '-S',
        '-1',
        '-e',
        hostName,
      ],
      { SANLOCK_PRIVILEGED: '0' },
      'sanlock.log',
    );
    await this.waitUntil('the sanlock socket', () => this.hasSocket('/run/sanlock/sanlock.sock'));
    return child.pid ?? 0;
  }

  /** Makes /dev/mapper/<vg>-lvmlock in the namespace point at the lock LV's stand-in loop device. */
  async linkLockLv(vg: string, lockLvDevice: string): Promise<void> {
    const link = lockLvLinkPath(vg);
    const result = await this.exec(['/bin/ln', '-sfn', lockLvDevice, link], {}, START_TIMEOUT_MS);
    if (result.status !== 0) throw new Error(`${this.dir}: linking ${link} failed: ${result.stderr.trim()}`);
  }

  /** At once, no clean release (the harness is exiting): SIGKILL what was started and the namespace. */
  killNow(): void {
    for (const pid of [...this.started, this.holderPid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  /** Kills what was started in the namespace (last first), then the namespace itself. */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    for (const pid of [...this.started].reverse()) {
      if (!(await killAndWait(pid, 'SIGTERM')) && !(await killAndWait(pid, 'SIGKILL')))
        problems.push(`${this.dir}: pid ${pid} would not die`);
    }
    // The holder is the last process in the namespace: its tmpfs mounts go with it.
    if (!(await killAndWait(this.holderPid, 'SIGKILL'))) problems.push(`${this.dir}: the namespace would not end`);
    return problems;
  }
}

/** lvmlockd hands sanlock this path for the VG's lock LV (device-mapper's name: '-' doubled). */
export function lockLvLinkPath(vg: string): string {
  return `/dev/mapper/${vg.replaceAll('-', '--')}-lvmlock`;
}
