/**
 * Real-process test harness: daemons started from the built CLI (`npm test` builds first), lease
 * images initialized with `leasehold direct init`, client processes that hold leases.
 * Every process started here is stopped by pid in cleanup().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeaseholdClient } from '@leasehold/client';

export const CLI_PATH = fileURLToPath(new URL('../../../cli/bin/leasehold.js', import.meta.url));
export const HOLDER_SCRIPT = fileURLToPath(new URL('./holder.mjs', import.meta.url));
/** The dependency-free client that runs as another uid (startOutsider). */
export const SOCKET_PROBE_SCRIPT = fileURLToPath(new URL('./socket-probe.mjs', import.meta.url));
export const CLIENT_DIST = fileURLToPath(new URL('../../../client/dist/index.js', import.meta.url));
export const MIB = 1024 * 1024;
/** Short timeouts so that timing tests stay short: io_timeout 1, W 10 (host_dead 18 s). */
export const TEST_IO_TIMEOUT = 1;
export const TEST_W = 10;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI_PATH, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Waits until the daemon behind `env` sees each host of `hostIds` LIVE in `lockspace`. A host is
 * UNKNOWN until the observer has sampled its delta lease twice with a renewal between (the §3 table),
 * which takes a few renewal intervals on a loaded machine; tests that name a holder's liveness wait
 * here first instead of accepting UNKNOWN.
 */
export async function waitSeesLive(
  env: NodeJS.ProcessEnv,
  lockspace: string,
  hostIds: readonly number[],
  timeoutMs = 60_000,
): Promise<void> {
  let last = '';
  try {
    await waitFor(
      `${hostIds.join(', ')} LIVE in ${lockspace}`,
      () => {
        const out = runCli(['hosts', lockspace, '--json'], env);
        last = out.stdout + out.stderr;
        if (out.status !== 0) return undefined;
        const hosts = (JSON.parse(out.stdout) as { hosts: Array<{ hostId: number; state: string }> }).hosts;
        return hostIds.every((id) => hosts.some((h) => h.hostId === id && h.state === 'LIVE')) || undefined;
      },
      timeoutMs,
      250,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last hosts table:\n${last}`);
  }
}

export class TestDir {
  readonly path = mkdtempSync(join(tmpdir(), 'leasehold-daemon-test-'));
  private readonly children = new Set<ChildProcess>();

  file(name: string): string {
    return join(this.path, name);
  }

  /**
   * An allocated (written) image with a lockspace at 0 (io_timeout 1) and `resources` resource
   * leases at 1 MiB, 2 MiB, ... named R1, R2, ...
   */
  image(name: string, lockspace: string, resources = 2): string {
    const path = this.file(name);
    const fd = openSync(path, 'w');
    const zero = Buffer.alloc(MIB);
    for (let i = 0; i < resources + 2; i++) writeSync(fd, zero);
    closeSync(fd);
    const init = runCli(['direct', 'init', '-s', `${lockspace}:0:${path}:0`, '-o', String(TEST_IO_TIMEOUT)]);
    if (init.status !== 0) throw new Error(`direct init failed: ${init.stderr}`);
    for (let i = 1; i <= resources; i++) {
      const res = runCli(['direct', 'init', '-r', `${lockspace}:R${i}:${path}:${i * MIB}`]);
      if (res.status !== 0) throw new Error(`direct init -r failed: ${res.stderr}`);
    }
    return path;
  }

  track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  cleanup(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.children.clear();
    rmSync(this.path, { recursive: true, force: true });
  }
}

export interface DaemonOptions {
  name: string;
  ioTimeout?: number;
  watchdogFireTimeout?: number;
  extraArgs?: string[];
  /** Reuse this state directory (restart tests). */
  stateDir?: string;
  faultDir?: string;
  hostIdFile?: string;
  logLevel?: string;
  /** Contents of a leasehold.conf for this daemon (default: none). */
  configText?: string;
  /** Fence through the companion at this socket instead of running with `--watchdog none`. */
  watchdogSocket?: string;
  /** Added to the daemon's environment (its child commands inherit it). */
  env?: NodeJS.ProcessEnv;
}

export class TestDaemon {
  readonly socketPath: string;
  readonly stateDir: string;
  readonly logPath: string;
  process!: ChildProcess;

  constructor(
    private readonly dir: TestDir,
    readonly options: DaemonOptions,
  ) {
    this.socketPath = dir.file(`${options.name}.sock`);
    this.stateDir = options.stateDir ?? dir.file(`${options.name}-state`);
    this.logPath = dir.file(`${options.name}.log`);
  }

  private configPath(): string {
    if (this.options.configText === undefined) return '/dev/null';
    const path = this.dir.file(`${this.options.name}.conf`);
    writeFileSync(path, this.options.configText);
    return path;
  }

  get pid(): number {
    return this.process.pid!;
  }

  args(): string[] {
    return [
      CLI_PATH,
      'daemon',
      '--socket',
      this.socketPath,
      '--state-dir',
      this.stateDir,
      '--config',
      this.configPath(),
      '--host-id-file',
      this.options.hostIdFile ?? this.dir.file('no-host-id.conf'),
      '--io-timeout',
      String(this.options.ioTimeout ?? TEST_IO_TIMEOUT),
      '--watchdog-fire-timeout',
      String(this.options.watchdogFireTimeout ?? TEST_W),
      ...(this.options.watchdogSocket === undefined
        ? ['--watchdog', 'none']
        : ['--watchdog-socket', this.options.watchdogSocket]),
      '--log-level',
      this.options.logLevel ?? 'debug',
      ...(this.options.faultDir === undefined ? [] : ['--test-fault-dir', this.options.faultDir]),
      ...(this.options.extraArgs ?? []),
    ];
  }

  /** Starts the daemon and waits until it answers on its socket. */
  async start(): Promise<this> {
    const log = openSync(this.logPath, 'a');
    this.process = this.dir.track(
      spawn(process.execPath, this.args(), {
        stdio: ['ignore', log, log],
        env: { ...process.env, ...this.options.env },
      }),
    );
    closeSync(log);
    await waitFor(`daemon ${this.options.name} to serve`, async () => {
      if (this.process.exitCode !== null) throw new Error(`daemon ${this.options.name} exited: ${this.log()}`);
      if (!existsSync(this.socketPath)) return undefined;
      try {
        const client = await this.client();
        client.close();
        return true;
      } catch {
        return undefined;
      }
    });
    return this;
  }

  client(name = 'test'): Promise<LeaseholdClient> {
    return LeaseholdClient.connect({ socketPath: this.socketPath, name });
  }

  /** One request on a fresh connection. */
  async with<T>(work: (client: LeaseholdClient) => Promise<T>): Promise<T> {
    const client = await this.client();
    try {
      return await work(client);
    } finally {
      client.close();
    }
  }

  lockstart(lockspace: string, hostId: number | 'auto', path: string): Promise<unknown> {
    return this.with((client) => client.lockstart(lockspace, hostId, path, 0, { wait: true }));
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return new Promise((resolve) => {
      if (this.process.exitCode !== null || this.process.signalCode !== null) return resolve();
      this.process.once('exit', () => resolve());
      this.process.kill(signal);
    });
  }
}

export interface HolderProcess {
  child: ChildProcess;
  /** Lines the holder printed (JSON objects). */
  messages: Array<Record<string, unknown>>;
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/**
 * A client process (test/support/holder.mjs) that connects, acquires the leases given and holds them
 * until killed. Options: fork: spawn a child that inherits the daemon socket and outlives us.
 */
export function startHolder(dir: TestDir, args: Record<string, unknown>): HolderProcess {
  return watchClient(
    dir,
    spawn(process.execPath, [HOLDER_SCRIPT, CLIENT_DIST, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

/**
 * A client of another uid/gid (socket-probe.mjs: connect and register, nothing else). The script is
 * copied into the test directory first: that uid may not be able to read the checkout at all.
 */
export function startOutsider(dir: TestDir, socketPath: string, uidGid: [string, string]): HolderProcess {
  const script = dir.file('socket-probe.mjs');
  if (!existsSync(script)) {
    copyFileSync(SOCKET_PROBE_SCRIPT, script);
    chmodSync(script, 0o644);
  }
  const setpriv = [
    `--reuid=${uidGid[0]}`,
    `--regid=${uidGid[1]}`,
    '--clear-groups',
    process.execPath,
    script,
    JSON.stringify({ socket: socketPath }),
  ];
  return watchClient(dir, spawn('setpriv', setpriv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir.path }));
}

function watchClient(dir: TestDir, child: ChildProcess): HolderProcess {
  dir.track(child);
  const messages: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString();
    for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        messages.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        messages.push({ type: 'text', line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  return {
    child,
    messages,
    next: (type, timeoutMs = 30_000) =>
      waitFor(
        `holder message ${type}`,
        () => messages.find((message) => message.type === type || message.type === 'error'),
        timeoutMs,
      ).then(
        (message) => {
          if (message.type === 'error' && type !== 'error')
            throw new Error(`holder failed: ${JSON.stringify(message)}`);
          return message;
        },
        // What the process said on stderr by the time we gave up (not when we started waiting).
        (error: Error) => {
          throw new Error(
            `${error.message} (stderr: ${stderr}; exit: ${child.exitCode ?? child.signalCode ?? 'running'})`,
          );
        },
      ),
  };
}

/** Resolves when the child has exited (at once if it already has). */
export function childExited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
