import { drainMicrotasks, type TieChooser } from './chooser.js';
import { EventQueue, type SimEvent } from './event-queue.js';
import { SimHost, type SimHostOptions } from './host.js';
import { Prng } from './prng.js';
import { SharedDisk, type SharedDiskOptions } from './shared-disk.js';
import { Trace, DEFAULT_TRACE_DEPTH } from './trace.js';

export interface SimWorldOptions {
  /** Seeds every random choice of the run (latencies, tie order, crash outcomes). */
  seed: number;
  /** Who orders events due at the same moment; a seeded PRNG when absent. */
  tieChooser?: TieChooser;
  traceDepth?: number;
  /** Guard against a program that spins without letting virtual time advance. */
  maxEvents?: number;
}

/** What happened to a host incarnation, in global virtual time. */
export type LifecycleKind = 'start' | 'crash' | 'pause' | 'resume' | 'exit' | 'error' | 'watchdog-fire';

export interface LifecycleEntry {
  kind: LifecycleKind;
  timeSeconds: number;
  machine: string;
  incarnation: number;
  /** "machine#incarnation". */
  label: string;
  detail?: string;
}

export class SimLivelockError extends Error {
  override readonly name = 'SimLivelockError';
}

const DEFAULT_MAX_EVENTS = 5_000_000;
/** Events a livelock report shows (the spin is usually a short cycle). */
const LIVELOCK_RECENT_EVENTS = 12;
const WORLD = 'world';

/**
 * One global virtual timeline. Everything that happens (a timer firing, an I/O landing or
 * completing, a fault) is an event in one queue; the world runs them in time order and, after
 * each, lets every microtask run, so host code reacts before the next event. Nothing reads the
 * real clock, so a run depends only on its seed and scenario.
 */
export class SimWorld {
  nowSeconds = 0;
  eventsRun = 0;
  readonly random: Prng;
  readonly trace: Trace;
  readonly hosts: SimHost[] = [];
  readonly disks: SharedDisk[] = [];
  readonly lifecycle: LifecycleEntry[] = [];
  private readonly lifecycleListeners: ((entry: LifecycleEntry) => void)[] = [];
  private readonly queue = new EventQueue();
  private readonly tieChooser: TieChooser | undefined;
  private readonly maxEvents: number;
  private sequence = 0;
  private nextOpId = 1;
  /** The last LIVELOCK_RECENT_EVENTS events run, a ring indexed by eventsRun (no allocation per event). */
  private readonly recentTimes = new Float64Array(LIVELOCK_RECENT_EVENTS);
  private readonly recentLabels: string[] = new Array<string>(LIVELOCK_RECENT_EVENTS).fill('');

  constructor(options: SimWorldOptions) {
    this.random = new Prng(options.seed);
    this.tieChooser = options.tieChooser;
    this.trace = new Trace(options.traceDepth ?? DEFAULT_TRACE_DEPTH);
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  }

  /** Runs `action` at global time `timeSeconds` (now, if that is already past). */
  at(timeSeconds: number, label: string, action: () => void): SimEvent {
    const event: SimEvent = {
      timeSeconds: Math.max(timeSeconds, this.nowSeconds),
      tieKey: this.tieChooser === undefined ? this.random.next() : 0,
      sequence: this.sequence++,
      label,
      action,
      cancelled: false,
    };
    this.queue.push(event);
    return event;
  }

  after(delaySeconds: number, label: string, action: () => void): SimEvent {
    return this.at(this.nowSeconds + Math.max(0, delaySeconds), label, action);
  }

  cancel(event: SimEvent): void {
    event.cancelled = true;
  }

  /** A fresh id for an I/O operation (shared by the pieces of a torn write). */
  newOpId(): number {
    return this.nextOpId++;
  }

  note(text: string): void {
    this.trace.note(WORLD, this.nowSeconds, text);
  }

  addDisk(options: SharedDiskOptions): SharedDisk {
    const disk = new SharedDisk(options);
    this.disks.push(disk);
    return disk;
  }

  addHost(options: SimHostOptions): SimHost {
    if (this.hosts.some((host) => host.machine === options.machine)) {
      throw new Error(`host ${options.machine} already exists`);
    }
    const host = new SimHost(this, options);
    this.hosts.push(host);
    return host;
  }

  host(machine: string): SimHost {
    const host = this.hosts.find((candidate) => candidate.machine === machine);
    if (host === undefined) throw new Error(`no host ${machine}`);
    return host;
  }

  /** Called for every lifecycle entry as it is recorded (oracles end ownership at a crash, for example). */
  onLifecycle(listener: (entry: LifecycleEntry) => void): void {
    this.lifecycleListeners.push(listener);
  }

  recordLifecycle(entry: Omit<LifecycleEntry, 'timeSeconds'>): void {
    const full: LifecycleEntry = { ...entry, timeSeconds: this.nowSeconds };
    this.lifecycle.push(full);
    for (const listener of this.lifecycleListeners) listener(full);
    this.trace.note(
      entry.label,
      this.nowSeconds,
      `** ${entry.kind}${entry.detail === undefined ? '' : `: ${entry.detail}`}`,
    );
  }

  /** Time of the next live event, if any. */
  nextEventSeconds(): number | undefined {
    return this.queue.peek()?.timeSeconds;
  }

  /** Runs the next event and everything it sets off; false when nothing is left to run. */
  async step(): Promise<boolean> {
    const event = await this.takeNext();
    if (event === undefined) return false;
    this.nowSeconds = event.timeSeconds;
    const ring = this.eventsRun % LIVELOCK_RECENT_EVENTS;
    this.recentTimes[ring] = event.timeSeconds;
    this.recentLabels[ring] = event.label;
    if (++this.eventsRun > this.maxEvents) {
      throw new SimLivelockError(
        `more than ${this.maxEvents} events by ${this.nowSeconds}s (last: ${event.label}); the last events:\n${this.recentEvents()}`,
      );
    }
    event.action();
    await drainMicrotasks();
    return true;
  }

  /** Runs every event due up to `timeSeconds`, then leaves the clock there. */
  async runUntil(timeSeconds: number): Promise<void> {
    for (;;) {
      const next = this.queue.peek();
      if (next === undefined || next.timeSeconds > timeSeconds) break;
      await this.step();
    }
    this.nowSeconds = Math.max(this.nowSeconds, timeSeconds);
  }

  /** Runs for `durationSeconds` of virtual time from now. */
  runFor(durationSeconds: number): Promise<void> {
    return this.runUntil(this.nowSeconds + durationSeconds);
  }

  /** Runs until `done()` holds (checked after every event) or `limitSeconds` is reached. */
  async runUntilCondition(done: () => boolean, limitSeconds: number): Promise<boolean> {
    for (;;) {
      if (done()) return true;
      const next = this.queue.peek();
      if (next === undefined || next.timeSeconds > limitSeconds) {
        this.nowSeconds = Math.max(this.nowSeconds, limitSeconds);
        return done();
      }
      await this.step();
    }
  }

  /** The last events run, oldest first, with their exact times (a spin shows as a repeating cycle). */
  private recentEvents(): string {
    const count = Math.min(this.eventsRun, LIVELOCK_RECENT_EVENTS);
    const lines: string[] = [];
    for (let i = this.eventsRun - count; i < this.eventsRun; i++) {
      const ring = i % LIVELOCK_RECENT_EVENTS;
      lines.push(`  ${this.recentTimes[ring]} ${this.recentLabels[ring]}`);
    }
    return lines.join('\n');
  }

  private async takeNext(): Promise<SimEvent | undefined> {
    const first = this.queue.pop();
    if (first === undefined || this.tieChooser === undefined) return first;
    const tied: SimEvent[] = [first];
    for (
      let next = this.queue.peek();
      next !== undefined && next.timeSeconds === first.timeSeconds;
      next = this.queue.peek()
    ) {
      tied.push(this.queue.pop() as SimEvent);
    }
    if (tied.length === 1) return first;
    const index = await this.tieChooser.choose(tied);
    const chosen = tied[index] ?? first;
    for (const event of tied) if (event !== chosen) this.queue.push(event);
    return chosen;
  }
}
