/**
 * Test support: the real sanlock 3.8 (Debian package) as an oracle and a peer.
 * Daemons run unprivileged (`SANLOCK_PRIVILEGED=0`), each with its own run dir and host name, so
 * several act as several hosts on one machine. If sanlock is missing these helpers throw: tests that
 * need the real sanlock must fail loudly, never skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export const SANLOCK_BINARY = '/usr/sbin/sanlock';
/**
 * sanlock 3.8.5 has a fixed watchdog_fire_timeout of 60 s: its config file has no key for it (checked
 * against the binary's config keys). Every leasehold host that shares a lockspace with it in a test
 * must use the same W, so interop tests that wait for DEAD take 8 x io_timeout + 60 s.
 */
export const SANLOCK_WATCHDOG_FIRE_TIMEOUT_SECONDS = 60;
const DAEMON_START_TIMEOUT_MS = 10_000;

export function requireSanlock(): void {
  if (!existsSync(SANLOCK_BINARY)) {
    throw new Error(
      `the real sanlock is required for this test: ${SANLOCK_BINARY} is missing (apt-get install sanlock python3-sanlock)`,
    );
  }
}

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `sanlock <args>` synchronously with the given environment. */
export function runSanlock(args: string[], env: NodeJS.ProcessEnv = {}): CommandResult {
  requireSanlock();
  const result = spawnSync(SANLOCK_BINARY, args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** `sanlock direct ...`; throws with the output unless it prints `done 0` or exits 0. */
export function sanlockDirect(args: string[]): CommandResult {
  const result = runSanlock(['direct', ...args]);
  if (result.status !== 0) {
    throw new Error(`sanlock direct ${args.join(' ')} failed (${result.status}): ${result.stdout}${result.stderr}`);
  }
  return result;
}

export interface SanlockDaemonOptions {
  hostName: string;
  /** Extra daemon flags, e.g. ['-b', '6']. */
  extraArgs?: string[];
}

/** One real sanlock daemon acting as one host. */
export class SanlockDaemon {
  readonly runDir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly child: ChildProcess;
  private readonly logPath: string;
  private finalLog: string | undefined;

  private constructor(
    readonly hostName: string,
    runDir: string,
    child: ChildProcess,
    logPath: string,
  ) {
    this.runDir = runDir;
    this.env = { SANLOCK_PRIVILEGED: '0', SANLOCK_RUN_DIR: runDir };
    this.child = child;
    this.logPath = logPath;
  }

  static async start(options: SanlockDaemonOptions): Promise<SanlockDaemon> {
    requireSanlock();
    const runDir = mkdtempSync(join(tmpdir(), 'sanlock-run-'));
    const env = { ...process.env, SANLOCK_PRIVILEGED: '0', SANLOCK_RUN_DIR: runDir };
    // The -D log goes to a file, never a pipe: a pipe nobody drains (say, while the test process
    // blocks in spawnSync) fills up and blocks the daemon in the middle of a lease operation.
    const logPath = join(runDir, 'daemon.log');
    const logFd = openSync(logPath, 'a');
    const child = spawn(
      SANLOCK_BINARY,
      ['daemon', '-D', '-w', '0', '-l', '0', '-e', options.hostName, ...(options.extraArgs ?? [])],
      {
        env,
        stdio: ['ignore', logFd, logFd],
      },
    );
    closeSync(logFd);
    const daemon = new SanlockDaemon(options.hostName, runDir, child, logPath);
    const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`sanlock daemon exited at start: ${daemon.log}`);
      if (daemon.client(['status']).status === 0) return daemon;
      await delay(100);
    }
    await daemon.stop();
    throw new Error(`sanlock daemon did not start within ${DAEMON_START_TIMEOUT_MS} ms: ${daemon.log}`);
  }

  /** The daemon's -D log so far (kept after stop()). */
  get log(): string {
    if (this.finalLog !== undefined) return this.finalLog;
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** `sanlock client <args>` against this daemon. */
  client(args: string[]): CommandResult {
    return runSanlock(['client', ...args], this.env);
  }

  /** `sanlock client <args>` without blocking the event loop (for calls that wait, like add_lockspace). */
  clientAsync(args: string[]): Promise<CommandResult> {
    return runAsync(SANLOCK_BINARY, ['client', ...args], this.env);
  }

  /** Runs python3 code with this daemon's environment (the `sanlock` module is python3-sanlock). */
  python(code: string): Promise<CommandResult> {
    return runAsync('/usr/bin/python3', ['-c', code], this.env);
  }

  /** Stops the daemon: SIGKILL by default (like a crash); `clean` asks it to shut down. */
  async stop(options: { clean?: boolean } = {}): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (options.clean) this.client(['shutdown', '-f', '1']);
      else this.child.kill('SIGKILL');
      const deadline = Date.now() + 5000;
      while (this.child.exitCode === null && this.child.signalCode === null && Date.now() < deadline) await delay(50);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    this.finalLog = this.log;
    rmSync(this.runDir, { recursive: true, force: true });
  }

  /** SIGSTOP / SIGCONT: freeze the host's lease manager without killing it. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }
}

function runAsync(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

/** Parses `sanlock client gets -h 1` output into host_id -> state for one lockspace. */
export function parseHostStates(getsOutput: string): Map<number, string> {
  const states = new Map<number, string>();
  for (const line of getsOutput.split('\n')) {
    const match = /^h (\d+) gen (\d+) timestamp (\d+) (\w+)/.exec(line.trim());
    if (match) states.set(Number(match[1]), match[4]!);
  }
  return states;
}
