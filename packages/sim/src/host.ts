import type { Prng } from './prng.js';
import { IoFaults, type IoFaultSettings } from './io-faults.js';
import type { SharedDisk } from './shared-disk.js';
import { SimClock } from './sim-clock.js';
import { SimDisk } from './sim-disk.js';
import { SimWatchdog } from './watchdog.js';
import type { SimWorld } from './world.js';

export type HostRunState = 'not-started' | 'running' | 'paused' | 'crashed' | 'exited';

export interface SimHostOptions {
  /** The machine's name, e.g. "h1"; incarnations are labelled "h1#1", "h1#2", ... */
  machine: string;
  /** Monotonic clock reading at global time 0; random when absent. */
  clockOffsetSeconds?: number;
  /** This machine's storage path. */
  ioFaults?: Partial<IoFaultSettings>;
}

export interface StartOptions {
  /** A new monotonic base (a reboot). Absent: the clock goes on as before (a process restart). */
  clockOffsetSeconds?: number;
  /** Watchdog device fire timeout; absent or Infinity: no watchdog. */
  watchdogFireTimeoutSeconds?: number;
}

/** What a program running on a host may touch: its clock, its disks, its randomness, its watchdog. */
export interface HostContext {
  readonly machine: string;
  readonly incarnation: number;
  /** "machine#incarnation". */
  readonly label: string;
  readonly clock: SimClock;
  /** Program-visible randomness (e.g. for host names), independent of the world's draws. */
  readonly random: Prng;
  readonly watchdog: SimWatchdog;
  /** This incarnation's view of a shared disk (the world's first disk when absent). */
  disk(shared?: SharedDisk): SimDisk;
  /** Adds a line to this incarnation's trace (a function is only called if the trace is printed). */
  note(text: string | (() => string)): void;
}

export type HostProgram = (context: HostContext) => Promise<void>;

/** An I/O in flight, told when its host crashes so it can decide what still lands. */
export interface InflightIo {
  onCrash(): void;
}

/** Lowest and highest random monotonic clock offsets: hosts booted at very different times. */
const MIN_RANDOM_CLOCK_OFFSET_SECONDS = 100;
const MAX_RANDOM_CLOCK_OFFSET_SECONDS = 1_000_000;

/**
 * A machine that runs one program at a time (an incarnation). Everything the world hands to the
 * program (a timer, an I/O completion) passes through `deliver`, which drops it after a crash and
 * holds it while the host is paused: that is how crash and pause work without the program's help.
 */
export class SimHost {
  readonly machine: string;
  readonly ioFaults: IoFaults;
  incarnation = 0;
  state: HostRunState = 'not-started';
  clockOffsetSeconds: number;
  private currentClock: SimClock | undefined;
  private currentWatchdog: SimWatchdog | undefined;
  private held: (() => void)[] = [];
  private readonly inflight = new Set<InflightIo>();
  private readonly disks = new Map<SharedDisk, SimDisk>();

  constructor(
    private readonly world: SimWorld,
    options: SimHostOptions,
  ) {
    this.machine = options.machine;
    this.ioFaults = new IoFaults(options.ioFaults);
    this.clockOffsetSeconds =
      options.clockOffsetSeconds ??
      world.random.uniform(MIN_RANDOM_CLOCK_OFFSET_SECONDS, MAX_RANDOM_CLOCK_OFFSET_SECONDS);
  }

  get label(): string {
    return `${this.machine}#${this.incarnation}`;
  }

  /** The current incarnation's clock. */
  get clock(): SimClock {
    if (this.currentClock === undefined) throw new Error(`${this.machine} has not started`);
    return this.currentClock;
  }

  get watchdog(): SimWatchdog {
    if (this.currentWatchdog === undefined) throw new Error(`${this.machine} has not started`);
    return this.currentWatchdog;
  }

  /** True while the machine still runs `incarnation` (even if its program has exited): its watchdog can fire. */
  isPowered(incarnation = this.incarnation): boolean {
    return (
      incarnation === this.incarnation &&
      (this.state === 'running' || this.state === 'paused' || this.state === 'exited')
    );
  }

  /** True while `incarnation` (the current one by default) is running or paused. */
  isAlive(incarnation = this.incarnation): boolean {
    return incarnation === this.incarnation && (this.state === 'running' || this.state === 'paused');
  }

  /** Starts a new incarnation running `program`. The host must not be alive. */
  start(program: HostProgram, options: StartOptions = {}): HostContext {
    if (this.isAlive()) throw new Error(`${this.label} is still alive; crash it first`);
    this.incarnation++;
    this.state = 'running';
    this.held = [];
    this.disks.clear();
    if (options.clockOffsetSeconds !== undefined) this.clockOffsetSeconds = options.clockOffsetSeconds;
    const incarnation = this.incarnation;
    const label = this.label;
    const clock = new SimClock(this.world, this, incarnation, this.clockOffsetSeconds);
    const watchdog = new SimWatchdog(
      this.world,
      this,
      incarnation,
      clock,
      options.watchdogFireTimeoutSeconds ?? Infinity,
    );
    this.currentClock = clock;
    this.currentWatchdog = watchdog;
    const random = this.world.random.fork();
    const context: HostContext = {
      machine: this.machine,
      incarnation,
      label,
      clock,
      random,
      watchdog,
      disk: (shared) => this.diskView(incarnation, shared),
      note: (text) => this.world.trace.note(label, this.world.nowSeconds, text),
    };
    this.world.recordLifecycle({
      kind: 'start',
      machine: this.machine,
      incarnation,
      label,
      detail: `clock offset ${this.clockOffsetSeconds.toFixed(3)}s`,
    });
    // The program starts from a world event, like everything else that runs host code.
    this.world.after(0, `${label} start`, () => {
      this.deliver(incarnation, () => {
        program(context).then(
          () => this.exited(incarnation),
          (error: unknown) => this.exited(incarnation, error),
        );
      });
    });
    return context;
  }

  /**
   * Stops the host at once: held and future deliveries are dropped, in-flight writes may or may not
   * land. A host whose program has exited can still be crashed (reset by its watchdog).
   */
  crash(detail = 'crash'): void {
    if (!this.isAlive() && this.state !== 'exited') return;
    this.state = 'crashed';
    this.held = [];
    this.currentWatchdog?.disarm();
    this.world.recordLifecycle({
      kind: 'crash',
      machine: this.machine,
      incarnation: this.incarnation,
      label: this.label,
      detail,
    });
    const inflight = [...this.inflight];
    this.inflight.clear();
    for (const io of inflight) io.onCrash();
  }

  /** Freezes the program; the world (its disk I/O, its clock, its watchdog) goes on. */
  pause(): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    this.world.recordLifecycle({
      kind: 'pause',
      machine: this.machine,
      incarnation: this.incarnation,
      label: this.label,
    });
  }

  /** Lets the program go on; everything that arrived meanwhile is handed over now, in order. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'running';
    this.world.recordLifecycle({
      kind: 'resume',
      machine: this.machine,
      incarnation: this.incarnation,
      label: this.label,
    });
    const held = this.held;
    this.held = [];
    for (const work of held) work();
  }

  /** Crashes the current incarnation if it is alive, then starts a new one. */
  restart(program: HostProgram, options: StartOptions = {}): HostContext {
    this.crash('restart');
    return this.start(program, options);
  }

  /** Runs `work` for `incarnation` now, later (paused), or never (crashed, exited, replaced). */
  deliver(incarnation: number, work: () => void): void {
    if (incarnation !== this.incarnation) return;
    if (this.state === 'running') work();
    else if (this.state === 'paused') this.held.push(work);
  }

  trackIo(io: InflightIo): void {
    this.inflight.add(io);
  }

  untrackIo(io: InflightIo): void {
    this.inflight.delete(io);
  }

  private diskView(incarnation: number, shared: SharedDisk | undefined): SimDisk {
    const target = shared ?? this.world.disks[0];
    if (target === undefined) throw new Error('the world has no disk');
    let view = this.disks.get(target);
    if (view === undefined || incarnation !== this.incarnation) {
      view = new SimDisk(this.world, this, incarnation, target);
      if (incarnation === this.incarnation) this.disks.set(target, view);
    }
    return view;
  }

  private exited(incarnation: number, error?: unknown): void {
    if (!this.isAlive(incarnation)) return;
    this.state = 'exited';
    this.held = [];
    const detail = error === undefined ? undefined : describeError(error);
    this.world.recordLifecycle({
      kind: error === undefined ? 'exit' : 'error',
      machine: this.machine,
      incarnation,
      label: `${this.machine}#${incarnation}`,
      ...(detail === undefined ? {} : { detail }),
    });
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}${error.stack === undefined ? '' : `\n${error.stack}`}`;
  }
  return String(error);
}
