/**
 * Test cluster harness: drives `leasehold testing cluster` (the built CLI, as users do) and reads what
 * the hosts leave behind: the test watchdog devices' event logs and the companions' logs. Times are
 * CLOCK_MONOTONIC seconds, the clock the daemons, companions and devices share on this machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostDeadSeconds, idRenewalFailSeconds, idRenewalSeconds } from '@leasehold/lease';
import { CLI_PATH } from '../run-cli.js';

export const CLIENT_DIST = fileURLToPath(new URL('../../../client/dist/index.js', import.meta.url));
export const ACQUIRE_LOOP = fileURLToPath(new URL('./acquire-loop.mjs', import.meta.url));
export const MIB = 1024 * 1024;
/** The test timeouts: io_timeout 1, W 10. */
export const IO_TIMEOUT_SECONDS = 1;
export const FIRE_TIMEOUT_SECONDS = 10;
/** The companion's test interval for W = 10 (wdmd's rule): its safety margin before an expiry. */
export const COMPANION_INTERVAL_SECONDS = 2;
export const RENEWAL_FAIL_SECONDS = idRenewalFailSeconds(IO_TIMEOUT_SECONDS);
export const HOST_DEAD_SECONDS = hostDeadSeconds(IO_TIMEOUT_SECONDS, FIRE_TIMEOUT_SECONDS);
export const RENEWAL_INTERVAL_SECONDS = idRenewalSeconds(IO_TIMEOUT_SECONDS);
/** Lateness allowed to liveness bounds on a loaded 2-core machine (never to safety bounds). */
export const LOAD_SLACK_SECONDS = 2.5;

export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Cluster tests need root, pid namespaces and unshare/nsenter. */
export function clusterSupported(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync('unshare', ['--fork', '--pid', '--mount', '--mount-proc', 'true'], { encoding: 'utf8' });
  return probe.status === 0 && spawnSync('nsenter', ['--version']).status === 0;
}

export interface DeviceEvent {
  type: string;
  atSeconds: number;
  [key: string]: unknown;
}

export interface Line {
  [key: string]: unknown;
  type: string;
}

/** A process started with `cluster exec`, its stdout read as JSON lines. */
export class ExecProcess {
  readonly lines: Line[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.on('data', (data: Buffer) => {
      buffered += data.toString();
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(text) as Line);
        } catch {
          this.lines.push({ type: 'text', text });
        }
      }
    });
    child.stderr!.on('data', (data: Buffer) => (this.stderr += data.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  next(type: string, timeoutMs: number): Promise<Line> {
    return waitFor(
      `a "${type}" line (stderr: ${this.stderr})`,
      () => this.lines.find((line) => line.type === type),
      timeoutMs,
    );
  }
}

export class TestCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'leasehold-cluster-test-'));
  readonly disk = join(this.dir, 'disk.img');
  private readonly children = new Set<ChildProcess>();
  private readonly freezers: string[] = [];

  cli(args: string[], timeoutMs = 60_000): { status: number; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: timeoutMs });
    if (result.error) throw result.error;
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  /** `cluster ...` that must succeed. */
  cluster(args: string[]): string {
    const result = this.cli(['testing', 'cluster', ...args, '--dir', this.dir]);
    if (result.status !== 0) throw new Error(`cluster ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
    return result.stdout;
  }

  start(hosts: number, extra: string[] = []): void {
    this.cluster([
      'start',
      '--hosts',
      String(hosts),
      '--io-timeout',
      String(IO_TIMEOUT_SECONDS),
      '--watchdog-fire-timeout',
      String(FIRE_TIMEOUT_SECONDS),
      '--lockspace',
      'LS',
      '--resources',
      '2',
      ...extra,
    ]);
  }

  /** `cluster exec HOST -- ARGS` to completion. */
  exec(host: string, args: string[]): { status: number; stdout: string; stderr: string } {
    return this.cli(['testing', 'cluster', 'exec', host, '--dir', this.dir, '--', ...args]);
  }

  /** `cluster exec HOST -- ARGS` in the background. */
  spawnExec(host: string, args: string[]): ExecProcess {
    const child = spawn(
      process.execPath,
      [CLI_PATH, 'testing', 'cluster', 'exec', host, '--dir', this.dir, '--', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return new ExecProcess(child);
  }

  lockstart(host: string): void {
    const result = this.exec(host, ['leasehold', 'lockstart', '-s', `LS:auto:${this.disk}:0`, '--wait']);
    if (result.status !== 0) throw new Error(`lockstart in ${host} failed: ${result.stderr}`);
  }

  /** A client holding R1 (via `leasehold run`) whose command is `script` in sh. */
  holdR1(host: string, script: string): ExecProcess {
    return this.spawnExec(host, ['leasehold', 'run', '-r', `LS:R1:${this.disk}:${MIB}`, '--', 'sh', '-c', script]);
  }

  /** A client that tries to take R1 every 100 ms until it gets it. */
  acquireLoop(host: string): ExecProcess {
    return this.spawnExec(host, [
      'node',
      ACQUIRE_LOOP,
      CLIENT_DIST,
      JSON.stringify({ lockspace: 'LS', resource: 'R1', path: this.disk, offsetBytes: MIB, retryMs: 100 }),
    ]);
  }

  hostDir(host: string): string {
    return join(this.dir, host);
  }

  deviceEvents(host: string): DeviceEvent[] {
    const path = join(this.hostDir(host), 'watchdog-device-events.jsonl');
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as DeviceEvent);
  }

  fires(host: string): DeviceEvent[] {
    return this.deviceEvents(host).filter((event) => event.type === 'fire');
  }

  /** The expiries the host's companion was given for a lockspace (each = last renewal + 8N). */
  companionExpiries(host: string, lockspace: string): number[] {
    const path = join(this.hostDir(host), 'companion.log');
    if (!existsSync(path)) return [];
    const expiries: number[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.includes('"registration set"')) continue;
      const entry = JSON.parse(line) as { lockspace?: string; expiresAtSeconds?: number };
      if (entry.lockspace === lockspace && typeof entry.expiresAtSeconds === 'number')
        expiries.push(entry.expiresAtSeconds);
    }
    return expiries;
  }

  /** The host's last renewal as its companion knew it (CLOCK_MONOTONIC seconds). */
  lastRenewal(host: string, lockspace = 'LS'): number {
    const expiries = this.companionExpiries(host, lockspace);
    if (expiries.length === 0) throw new Error(`no registration of ${lockspace} in the companion log of ${host}`);
    return Math.max(...expiries) - RENEWAL_FAIL_SECONDS;
  }

  log(host: string, file: 'daemon.log' | 'companion.log'): string {
    const path = join(this.hostDir(host), file);
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  status(): { hosts: Array<{ name: string; up: boolean; daemonPid: number | null; companionPid: number | null }> } {
    return JSON.parse(this.cluster(['status', '--json'])) as {
      hosts: Array<{ name: string; up: boolean; daemonPid: number | null; companionPid: number | null }>;
    };
  }

  hostUp(host: string): boolean {
    return this.status().hosts.find((h) => h.name === host)?.up === true;
  }

  /** Makes every I/O of `host` on the shared disk hang (the daemon's test-fault switch). */
  hangStorage(host: string): void {
    writeFileSync(join(this.hostDir(host), 'faults', 'hang@disk.img'), '');
  }

  unhangStorage(host: string): void {
    rmSync(join(this.hostDir(host), 'faults', 'hang@disk.img'), { force: true });
  }

  /**
   * Freezes a process in a cgroup-v1 freezer group: it then ignores even SIGKILL (state D), like a
   * process stuck in the kernel, until thawed. The emulated reset thaws it, as a real reset ends it.
   */
  freezeInKernel(pid: number): void {
    const group = join('/sys/fs/cgroup/freezer', `leasehold-test-${process.pid}-${pid}`);
    mkdirSync(group);
    this.freezers.push(group);
    writeFileSync(join(group, 'cgroup.procs'), String(pid));
    writeFileSync(join(group, 'freezer.state'), 'FROZEN');
  }

  stop(): void {
    this.unhangStorage('host1');
    this.unhangStorage('host2');
    if (existsSync(join(this.dir, 'cluster.json'))) this.cli(['testing', 'cluster', 'stop', '--dir', this.dir]);
    for (const child of this.children) child.kill('SIGKILL');
    for (const group of this.freezers) {
      try {
        writeFileSync(join(group, 'freezer.state'), 'THAWED');
        rmdirSync(group);
      } catch {
        // already gone
      }
    }
    if (process.env['KEEP_CLUSTER'] === undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** cgroup-v1 freezer available (for the "client stuck in the kernel" test). */
export function freezerSupported(): boolean {
  return existsSync('/sys/fs/cgroup/freezer/cgroup.procs');
}

/** pids (as seen here) of the processes of a running host whose argv, joined by spaces, is `commandLine`. */
export function hostProcessesMatching(cluster: TestCluster, host: string, commandLine: string): number[] {
  const record = JSON.parse(readFileSync(join(cluster.hostDir(host), 'host.json'), 'utf8')) as { pidNamespace: string };
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== record.pidNamespace) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim() === commandLine)
        found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Prints a timeline relative to `origin` (the tests are meant to show it). */
export function printTimeline(title: string, origin: number, entries: Array<[string, number | undefined]>): void {
  const lines = entries
    .filter((entry): entry is [string, number] => entry[1] !== undefined)
    .sort((a, b) => a[1] - b[1])
    .map(([label, at]) => `  ${(at - origin >= 0 ? '+' : '') + (at - origin).toFixed(2).padStart(6)} s  ${label}`);
  process.stdout.write(`\n${title}\n${lines.join('\n')}\n`);
}
