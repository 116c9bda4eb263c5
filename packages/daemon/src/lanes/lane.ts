/**
 * The main thread's handle on one lane worker: commands with replies (matched by reqId),
 * notifications, log forwarding, and what happens when the worker dies.
 *
 * Terminating a worker that sits in a syscall on a dead device does not finish until the syscall
 * returns; callers never await terminate() on a path that must make progress.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '@leasehold/lease';
import { DaemonError } from '@leasehold/protocol';
import type { LaneReply, LogNote, WireFailure } from './lane-messages.js';

/**
 * V8 heap limits per lane: a lane keeps a few leases' state; this bounds a runaway. The young
 * generation is small on purpose: a lane allocates little per I/O, and V8 keeps the young
 * generation's pages resident once it has grown into them (4 MB cost about 2 MB more per lane).
 */
const LANE_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 2, stackSizeMb: 4 };

/** Omit distributed over a union (plain Omit would merge the union's members). */
export type WithoutReqId<T> = T extends unknown ? Omit<T, 'reqId'> : never;

export class LaneFailure extends DaemonError {
  constructor(readonly failure: WireFailure) {
    super(failure.code, failure.message, failure.details);
  }
}

export interface LaneOptions<Note> {
  kind: 'renewal' | 'resource';
  laneKey: string;
  script: URL;
  testFaultDir: string | undefined;
  /** Records below this level are dropped in the worker. */
  logLevel: string;
  /** More workerData (e.g. a SharedArrayBuffer). */
  extraWorkerData?: Record<string, unknown>;
  logger: Logger;
  onNote: (note: Note) => void;
  /** The worker ended (crash or terminate). Pending commands have been failed. */
  onExit: (code: number, error: Error | undefined) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class Lane<Command extends { type: string }, Note extends { type: string }> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextReqId = 1;
  private exited = false;
  private lastError: Error | undefined;

  constructor(private readonly options: LaneOptions<Note>) {
    this.worker = new Worker(options.script, {
      workerData: {
        laneKey: options.laneKey,
        testFaultDir: options.testFaultDir,
        logLevel: options.logLevel,
        ...options.extraWorkerData,
      },
      resourceLimits: LANE_RESOURCE_LIMITS,
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', (message: LaneReply | LogNote | Note) => this.onMessage(message));
    this.worker.on('error', (error) => {
      this.lastError = error;
      options.logger.error({ lane: options.laneKey, kind: options.kind, err: error }, 'lane worker failed');
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      const error = new DaemonError('INTERNAL', `${options.kind} lane ${options.laneKey} exited (code ${code})`);
      for (const entry of this.pending.values()) entry.reject(error);
      this.pending.clear();
      options.onExit(code, this.lastError);
    });
  }

  get laneKey(): string {
    return this.options.laneKey;
  }

  get isAlive(): boolean {
    return !this.exited;
  }

  /** Sends a command that expects no reply. */
  send(command: Command): void {
    if (!this.exited) this.worker.postMessage(command);
  }

  /** Sends a command with a fresh reqId and resolves with the worker's answer. */
  call<T>(command: WithoutReqId<Extract<Command, { reqId: number }>>, onReqId?: (reqId: number) => void): Promise<T> {
    if (this.exited)
      return Promise.reject(
        new DaemonError('INTERNAL', `${this.options.kind} lane ${this.options.laneKey} has exited`),
      );
    const reqId = this.nextReqId++;
    onReqId?.(reqId);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(reqId, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...command, reqId });
    });
  }

  /** Asks the worker to stop; does not wait (a thread stuck in a syscall cannot stop until it returns). */
  terminate(): void {
    if (!this.exited) void this.worker.terminate();
  }

  /** Keeps the process from staying alive just for this worker. */
  unref(): void {
    this.worker.unref();
  }

  private onMessage(message: LaneReply | LogNote | Note): void {
    if (message.type === 'reply') {
      const reply = message as LaneReply;
      const entry = this.pending.get(reply.reqId);
      if (entry === undefined) return;
      this.pending.delete(reply.reqId);
      if (reply.ok) entry.resolve(reply.value);
      else entry.reject(new LaneFailure(reply.error));
      return;
    }
    if (message.type === 'log') {
      const log = message as LogNote;
      this.options.logger[log.level](log.fields, log.message);
      return;
    }
    this.options.onNote(message as Note);
  }
}
