/**
 * `leasehold command-server`: keeps a few command workers (worker.ts) booted and waiting on one
 * listening socket, so that `leasehold-fast` (a C front end) starts a command in a millisecond
 * instead of Node's 40-80 ms. Each worker runs one command and exits; when one takes a command the
 * server starts its replacement. The server itself never runs a command and holds no lock: a
 * command in progress is a process of its own and finishes even if the server stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { listenUnix } from '@leasehold/native';
import { BUNDLE_DIR, MANIFEST_FILE } from '../bundle-runner.js';
import { CliError } from '../cli-error.js';
import { isWorkerMessage } from './worker-messages.js';

/** Idle workers the server keeps at most (`--workers`). */
export const MAX_IDLE_WORKERS = 16;
/** Commands in progress at once; past it, front ends wait in the listen backlog for a worker. */
export const MAX_BUSY_COMMANDS = 64;
const LISTEN_BACKLOG = 128;
/** Workers that die before taking a command, within FAILURE_WINDOW_SECONDS, that stop the server. */
export const MAX_WORKER_FAILURES = 10;
const FAILURE_WINDOW_SECONDS = 60;
/** How often the bundles' manifest is checked: idle workers hold the code they booted with. */
const MANIFEST_CHECK_SECONDS = 2;
const CONNECT_PROBE_MS = 1000;
/**
 * A replacement starts this long after a worker takes a command, or when the command ends if that
 * is sooner: its boot (150-250 ms of CPU) would otherwise compete with that very command on a
 * small machine. The other idle workers serve what comes meanwhile.
 */
const REFILL_DELAY_MS = 150;
/** A booting worker yields the CPU to the commands running (worker.ts restores the priority). */
const WORKER_BOOT_NICE = 10;
const MAX_NICE = 19;

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));

export interface CommandServerOptions {
  socketPath: string;
  idleWorkers: number;
  logger: Logger;
}

type WorkerState =
  | { kind: 'starting'; child: ChildProcess; manifestMtimeMs: number }
  | { kind: 'idle'; child: ChildProcess; manifestMtimeMs: number }
  | { kind: 'busy'; child: ChildProcess; command: string; frontEndPid: number; sinceMs: number };

function manifestMtimeMs(): number {
  return statSync(join(BUNDLE_DIR, MANIFEST_FILE), { throwIfNoEntry: false })?.mtimeMs ?? 0;
}

/** True when a server already answers at `path`; a socket file nobody listens on is stale. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(CONNECT_PROBE_MS, () => done(true));
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
}

export class CommandServer {
  private readonly workers = new Map<number, WorkerState>();
  private readonly failuresMs: number[] = [];
  private listenFd = -1;
  private stopping = false;
  private manifestTimer: NodeJS.Timeout | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  private resolveStopped: (() => void) | undefined;
  readonly stopped: Promise<void>;

  constructor(private readonly options: CommandServerOptions) {
    if (!Number.isInteger(options.idleWorkers) || options.idleWorkers < 1 || options.idleWorkers > MAX_IDLE_WORKERS)
      throw new CliError('BAD_ARGUMENT', `--workers must be 1-${MAX_IDLE_WORKERS}, got ${options.idleWorkers}`);
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  async start(): Promise<void> {
    const { socketPath, logger } = this.options;
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
    if (statSync(socketPath, { throwIfNoEntry: false }) !== undefined) {
      if (await answers(socketPath))
        throw new CliError('COMMAND_SERVER_RUNNING', `a command server already answers at ${socketPath}`);
      unlinkSync(socketPath);
    }
    this.listenFd = listenUnix(socketPath, LISTEN_BACKLOG);
    for (let i = 0; i < this.options.idleWorkers; i++) this.spawnWorker();
    this.manifestTimer = setInterval(() => this.recycleStale(), MANIFEST_CHECK_SECONDS * 1000);
    logger.info({ socket: socketPath, workers: this.options.idleWorkers }, 'command server listening');
  }

  /** Workers waiting or booting; the server keeps options.idleWorkers of them. */
  private spareCount(): number {
    let count = 0;
    for (const worker of this.workers.values()) if (worker.kind !== 'busy') count++;
    return count;
  }

  private busyCount(): number {
    return this.workers.size - this.spareCount();
  }

  private refill(): void {
    while (!this.stopping && this.spareCount() < this.options.idleWorkers && this.busyCount() < MAX_BUSY_COMMANDS)
      this.spawnWorker();
  }

  private scheduleRefill(): void {
    if (this.refillTimer !== undefined) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.refill();
    }, REFILL_DELAY_MS);
  }

  private spawnWorker(): void {
    const child = spawn(process.execPath, [WORKER_SCRIPT], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc', this.listenFd],
    });
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (error) => this.options.logger.error({ err: error }, 'cannot start a command worker'));
      this.noteFailure();
      return;
    }
    if (process.getuid?.() === 0) {
      try {
        setPriority(pid, Math.min(getPriority() + WORKER_BOOT_NICE, MAX_NICE));
      } catch {
        // it died at once: its exit is handled below
      }
    }
    this.workers.set(pid, { kind: 'starting', child, manifestMtimeMs: manifestMtimeMs() });
    child.on('message', (message: unknown) => this.onMessage(pid, message));
    child.once('exit', (code, signal) => this.onExit(pid, code, signal));
  }

  private onMessage(pid: number, message: unknown): void {
    const worker = this.workers.get(pid);
    if (worker === undefined || !isWorkerMessage(message)) return;
    switch (message.type) {
      case 'ready':
        if (worker.kind === 'starting') this.workers.set(pid, { ...worker, kind: 'idle' });
        this.options.logger.debug({ worker: pid, prepared: message.prepared }, 'worker ready');
        return;
      case 'busy':
        this.workers.set(pid, {
          kind: 'busy',
          child: worker.child,
          command: message.command,
          frontEndPid: message.frontEndPid,
          sinceMs: Date.now(),
        });
        this.options.logger.debug(
          { worker: pid, command: message.command, frontEndPid: message.frontEndPid },
          'worker took a command',
        );
        this.scheduleRefill();
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unknown worker message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onExit(pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    const worker = this.workers.get(pid);
    this.workers.delete(pid);
    if (worker === undefined) return;
    if (worker.kind === 'busy') {
      this.options.logger.debug(
        { worker: pid, command: worker.command, exitStatus: code, signal, ms: Date.now() - worker.sinceMs },
        'command done',
      );
    } else if (!this.stopping && !worker.child.killed) {
      this.options.logger.warn(
        { worker: pid, exitStatus: code, signal },
        'a command worker died before taking a command',
      );
      this.noteFailure();
    }
    this.refill();
    this.finishIfStopped();
  }

  private noteFailure(): void {
    const nowMs = Date.now();
    this.failuresMs.push(nowMs);
    while ((this.failuresMs[0] ?? nowMs) < nowMs - FAILURE_WINDOW_SECONDS * 1000) this.failuresMs.shift();
    if (this.failuresMs.length >= MAX_WORKER_FAILURES) {
      this.options.logger.error(
        { failures: this.failuresMs.length, windowSeconds: FAILURE_WINDOW_SECONDS },
        'command workers keep dying before taking a command; stopping (leasehold-fast runs commands itself meanwhile)',
      );
      process.exitCode = 1;
      this.stop();
    }
  }

  /** Idle workers booted from bundles that have since been rebuilt are replaced. */
  private recycleStale(): void {
    const current = manifestMtimeMs();
    for (const worker of this.workers.values()) {
      if (worker.kind === 'busy' || worker.manifestMtimeMs === current) continue;
      worker.child.kill('SIGTERM');
    }
  }

  /** Stops taking commands; commands in progress run on (they are processes of their own). */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.manifestTimer !== undefined) clearInterval(this.manifestTimer);
    if (this.refillTimer !== undefined) clearTimeout(this.refillTimer);
    try {
      unlinkSync(this.options.socketPath);
    } catch {
      // already gone
    }
    if (this.listenFd >= 0) closeSync(this.listenFd);
    this.listenFd = -1;
    for (const worker of this.workers.values()) {
      if (worker.kind === 'busy') {
        if (worker.child.connected) worker.child.disconnect();
        worker.child.unref();
      } else worker.child.kill('SIGTERM');
    }
    this.options.logger.info({ inProgress: this.busyCount() }, 'command server stopping');
    this.finishIfStopped();
  }

  private finishIfStopped(): void {
    if (this.stopping && this.spareCount() === 0) this.resolveStopped?.();
  }
}
