/**
 * Support for the paxos tests against the real sanlock: leasehold hosts in this process (real clock,
 * O_DIRECT, the real delta lease and renewal loop) and python3-sanlock holder processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Disk } from '@leasehold/disk';
import { openDirectDisk } from '@leasehold/disk/direct';
import { decodeLeader, type LeaderRecord } from '@leasehold/ondisk';
import {
  acquireDeltaLease,
  PaxosError,
  runRenewalLoop,
  type Clock,
  type HeldDeltaLease,
  type PaxosContext,
} from '@leasehold/lease';
import { SANLOCK_WATCHDOG_FIRE_TIMEOUT_SECONDS, type SanlockDaemon } from '@leasehold/testkit';

export const IO_TIMEOUT_SECONDS = 1;
export const W = SANLOCK_WATCHDOG_FIRE_TIMEOUT_SECONDS;
export const HOST_DEAD_SECONDS = 8 * IO_TIMEOUT_SECONDS + W;
export const RESOURCE_OFFSET = 1 << 20;
export const SS = 512;
const PYTHON = '/usr/bin/python3';
export const EAGAIN = 11;

export const realClock: Clock = {
  nowSeconds: () => Number(process.hrtime.bigint()) / 1e9,
  sleep: (seconds) => new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds * 1000))),
};
export const delay = (seconds: number): Promise<void> => realClock.sleep(seconds);

/** A leasehold host in this process: a joined delta lease with its renewal loop. */
export class LeaseholdHost {
  private readonly stop = new AbortController();
  private loop: Promise<unknown> = Promise.resolve();
  readonly pings: number[] = [];
  onPing: ((fromHostId: number) => void) | undefined;
  /** Our clock at the start of the latest successful renewal. */
  lastRenewalSeconds = 0;

  private constructor(
    readonly disk: Disk,
    readonly delta: HeldDeltaLease,
  ) {}

  static async join(path: string, hostId: number, name: string): Promise<LeaseholdHost> {
    const disk = await openDirectDisk(path);
    const delta = await acquireDeltaLease(disk, realClock, {
      spaceName: 'LS',
      hostId,
      areaOffsetBytes: 0,
      hostName: name,
      ioTimeoutSeconds: IO_TIMEOUT_SECONDS,
      watchdogFireTimeoutSeconds: W,
    });
    const host = new LeaseholdHost(disk, delta);
    host.lastRenewalSeconds = delta.lastRenewalSeconds;
    host.loop = runRenewalLoop(
      delta,
      realClock,
      {
        onRenewed: () => (host.lastRenewalSeconds = delta.lastRenewalSeconds),
        onPing: (from) => {
          host.pings.push(from);
          host.onPing?.(from);
        },
      },
      host.stop.signal,
    );
    return host;
  }

  get ctx(): PaxosContext {
    return { disk: this.disk, clock: realClock, random: { next: Math.random }, delta: this.delta };
  }

  /** Dies without releasing anything: renewals stop, the disk is left as it is. */
  async die(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  async leave(): Promise<void> {
    this.stop.abort();
    await this.loop;
    if (!this.delta.released && !this.delta.lost) await this.delta.release();
    await this.disk.close();
  }
}

/** A python3-sanlock process on the sanlock host: acquires (shared or not), prints, holds until killed. */
export class SanlockHolder {
  private text = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.text += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.text += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(
    daemon: SanlockDaemon,
    path: string,
    options: { shared?: boolean; holdSeconds?: number } = {},
  ): SanlockHolder {
    const code = [
      'import sanlock, sys, time',
      'fd = sanlock.register()',
      'try:',
      `    sanlock.acquire(b"LS", b"R", [(${JSON.stringify(path)}, ${RESOURCE_OFFSET})], slkfd=fd, shared=${options.shared ? 'True' : 'False'})`,
      'except sanlock.SanlockException as e:',
      '    print("ERR", e.errno, flush=True)',
      '    sys.exit(3)',
      'print("ACQUIRED", flush=True)',
      `time.sleep(${options.holdSeconds ?? 600})`,
    ].join('\n');
    return new SanlockHolder(
      spawn(PYTHON, ['-c', code], { env: { ...process.env, ...daemon.env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  get output(): string {
    return this.text;
  }

  /** "ACQUIRED" or the errno it failed with. */
  async outcome(timeoutSeconds = 120): Promise<'ACQUIRED' | number> {
    const deadline = realClock.nowSeconds() + timeoutSeconds;
    while (realClock.nowSeconds() < deadline) {
      if (this.text.includes('ACQUIRED')) return 'ACQUIRED';
      const failed = /ERR (-?\d+)/.exec(this.text);
      if (failed) return Number(failed[1]);
      await delay(0.05);
    }
    throw new Error(`python sanlock holder gave no outcome in ${timeoutSeconds} s: ${this.text}`);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }
}

export function leaderOf(path: string): LeaderRecord {
  return decodeLeader(readFileSync(path).subarray(RESOURCE_OFFSET, RESOURCE_OFFSET + SS));
}

export function hostSectorBytes(path: string, hostId: number): Buffer {
  const at = RESOURCE_OFFSET + (hostId + 1) * SS;
  return readFileSync(path).subarray(at, at + SS);
}

export async function until(what: string, condition: () => boolean, timeoutSeconds: number): Promise<void> {
  const deadline = realClock.nowSeconds() + timeoutSeconds;
  while (!condition()) {
    if (realClock.nowSeconds() > deadline) throw new Error(`timed out after ${timeoutSeconds} s waiting for ${what}`);
    await delay(0.1);
  }
}

export async function expectPaxosError(work: Promise<unknown>, code: string): Promise<PaxosError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PaxosError);
  expect((error as PaxosError).code).toBe(code);
  return error as PaxosError;
}
