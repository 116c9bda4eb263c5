/**
 * One emulated host of the chaos run as the harness sees it: whether it is up, its writers (one per
 * lane, each lane with its own LVs so that no two writers of a host share an LV; restarted when they
 * die), the cleanup after a killed writer, recovery after a reset (boot,
 * lockstart), and the resets its test watchdog device logs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { restartHost, runningHost, type ClusterConfig, type HostPaths } from '@leasehold/watchdog';
import type { HistoryEvent } from '../history.js';
import { appendEvent, monotonicNs } from '../history-file.js';
import { parseHistory } from '../history.js';
import { continueLaunchers, inHostPid, runInHost, spawnCommandInHost } from './in-host.js';
import { CHAOS_VG, SHARED_LV, workerLvs, type ChaosOptions } from './options.js';

const COMMAND_TIMEOUT_MS = 60_000;
const LOCKSTART_ATTEMPTS = 6;
const LOCKSTART_RETRY_MS = 2000;
/** The writer's exit status after a failed activation command (see testing-chaos.ts). */
const WRITER_RECYCLE_EXIT = 3;
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 4000;
const SHORT_LIFE_MS = 10_000;
/** Activation failures after which the LV may be active all the same (the reply was lost). */
const AMBIGUOUS_FAILURE = /closed the connection|ECONNRESET|EPIPE|timed out/i;

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export type HostState = 'up' | 'down' | 'booting';

export class ChaosHost {
  state: HostState = 'up';
  /** A fault is in progress (no new writer, no other fault). */
  faulted = false;
  private readonly writers: Array<ChildProcess | undefined>;
  private readonly writersExited: Array<Promise<void>>;
  /** Per lane: no new writer before this time (Date.now ms), and the current back-off. */
  private readonly notBeforeMs: number[];
  private readonly backoffMs: number[];
  private writerCount = 0;
  private resetsSeen = 0;
  private stopping = false;
  /** When writers stop starting new cycles (set when the workload starts). */
  untilNs = 0n;
  readonly commandEnv: NodeJS.ProcessEnv;

  constructor(
    readonly index: number,
    readonly paths: HostPaths,
    readonly cluster: ClusterConfig,
    private readonly options: ChaosOptions,
    private readonly historyDir: string,
    private readonly note: (line: string) => void,
  ) {
    this.commandEnv = { LEASEHOLD_CONFIG: join(paths.dir, 'lvm.conf') };
    this.writers = Array.from({ length: options.writersPerHost }, () => undefined);
    this.writersExited = Array.from({ length: options.writersPerHost }, () => Promise.resolve());
    this.notBeforeMs = Array.from({ length: options.writersPerHost }, () => 0);
    this.backoffMs = Array.from({ length: options.writersPerHost }, () => MIN_BACKOFF_MS);
  }

  /** The LVs of writer lane `lane`: every writersPerHost-th one (the shared-read LV in lane 0). */
  private laneLvs(lane: number): string[] {
    const all = workerLvs(this.options).filter((_, index) => index % this.options.writersPerHost === lane);
    return lane === 0 ? [...all, SHARED_LV] : all;
  }

  get name(): string {
    return this.paths.name;
  }

  get harnessHistory(): string {
    return join(this.historyDir, `harness-${this.name}.jsonl`);
  }

  log(event: HistoryEvent): void {
    appendEvent(this.harnessHistory, event);
  }

  /** `leasehold ARGS` in this host. */
  leasehold(args: string[], timeoutMs = COMMAND_TIMEOUT_MS) {
    return runInHost(this.cluster, this.paths, ['leasehold', ...args], this.commandEnv, timeoutMs);
  }

  async lockstart(): Promise<boolean> {
    for (let attempt = 1; attempt <= LOCKSTART_ATTEMPTS; attempt++) {
      const result = await this.leasehold(['lockstart', CHAOS_VG, '--wait']);
      if (result.status === 0) return true;
      this.note(
        `${this.name}: lockstart ${CHAOS_VG} failed (${attempt}): ${result.stderr.trim().split('\n')[0] ?? ''}`,
      );
      if (/LOST|lost/.test(result.stderr)) await this.leasehold(['lockstop', CHAOS_VG]);
      await sleep(LOCKSTART_RETRY_MS);
    }
    return false;
  }

  /** The in-host pids of the running writers. */
  writerPids(): number[] {
    return this.writers.flatMap((writer) => {
      const pid = writer === undefined ? undefined : inHostPid(writer);
      return pid === undefined ? [] : [pid];
    });
  }

  /** Starts the writers the host lacks, if it is up and unfaulted. */
  ensureWriters(): void {
    for (let lane = 0; lane < this.writers.length; lane++) this.ensureWriter(lane);
  }

  private ensureWriter(lane: number): void {
    if (this.stopping || this.writers[lane] !== undefined || this.state !== 'up' || this.faulted) return;
    if (monotonicNs() >= this.untilNs || Date.now() < (this.notBeforeMs[lane] ?? 0)) return;
    const startedAtMs = Date.now();
    this.writerCount++;
    const worker = `${this.name}-w${this.writerCount}`;
    const historyPath = join(this.historyDir, `${worker}.jsonl`);
    const child = spawnCommandInHost(
      this.cluster,
      this.paths,
      [
        'leasehold',
        'testing',
        'chaos-writer',
        '--history',
        historyPath,
        '--host',
        this.name,
        '--worker',
        worker,
        '--vg',
        CHAOS_VG,
        '--lvs',
        this.laneLvs(lane).join(','),
        '--shared-lvs',
        SHARED_LV,
        '--device-dir',
        this.paths.deviceDir,
        '--slots',
        String(this.options.slotsPerLv),
        '--writes',
        String(this.options.writesPerCycle),
        '--write-pause-ms',
        String(this.options.writePauseMs),
        '--until-ns',
        String(this.untilNs),
        '--seed',
        String(this.options.seed * 1000 + this.index * 100 + this.writerCount),
      ],
      this.commandEnv,
    );
    this.writers[lane] = child;
    let stderr = '';
    child.stderr?.on('data', (data: Buffer) => {
      if (stderr.length < 4000) stderr += data.toString();
    });
    child.stdout?.resume();
    this.writersExited[lane] = new Promise((done) => {
      child.once('close', (code, signal) => {
        this.log({ kind: 'worker-exit', tNs: monotonicNs(), host: this.name, worker, code, signal });
        // A writer that stopped soon after it started (its host cannot activate now) is not restarted
        // at once: back off, so that failing writers do not take the CPU the others need.
        const lived = Date.now() - startedAtMs;
        const backoff =
          lived < SHORT_LIFE_MS ? Math.min(MAX_BACKOFF_MS, (this.backoffMs[lane] ?? 0) * 2) : MIN_BACKOFF_MS;
        this.backoffMs[lane] = backoff;
        this.notBeforeMs[lane] = Date.now() + backoff;
        const finished = (): void => {
          this.writers[lane] = undefined;
          done();
        };
        if (code !== 0) {
          if (code !== WRITER_RECYCLE_EXIT)
            this.note(`${worker} exited (${code ?? signal}) ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
          // The lane's next writer starts only after the cleanup: it may pick the same LV.
          void this.cleanupAfter(worker, historyPath, code === WRITER_RECYCLE_EXIT).finally(finished);
        } else {
          finished();
        }
      });
    });
  }

  /**
   * The LV a dead writer last asked for, deactivated here (a no-op when it is not active). A writer
   * that stopped after a refused activation needs none, unless the refusal leaves it unknown whether
   * the daemon activated (the connection broke).
   */
  private async cleanupAfter(worker: string, historyPath: string, recycled: boolean): Promise<void> {
    if (!existsSync(historyPath)) return;
    let lv: string | undefined;
    let last: HistoryEvent | undefined;
    try {
      for (const event of parseHistory(readFileSync(historyPath, 'utf8'), historyPath)) {
        if (event.kind === 'activate-start') lv = event.lv;
        last = event;
      }
    } catch {
      return;
    }
    if (lv === undefined) return;
    if (recycled && last?.kind === 'activate-fail' && !AMBIGUOUS_FAILURE.test(last.code ?? '')) return;
    while (!this.stopping && (this.state !== 'up' || this.faulted)) {
      if (this.state === 'down' || this.state === 'booting') return; // a reboot deactivates everything
      await sleep(500);
    }
    if (this.state !== 'up' || runningHost(this.paths.hostFile) === undefined) return;
    const cleaner = `harness-${this.name}`;
    this.log({ kind: 'deactivate-start', tNs: monotonicNs(), host: this.name, worker: cleaner, lv, epoch: null });
    const result = await this.leasehold(['activate', '-an', `${CHAOS_VG}/${lv}`]);
    this.log(
      result.status === 0
        ? { kind: 'deactivate-ok', tNs: monotonicNs(), host: this.name, worker: cleaner, lv, epoch: null }
        : {
            kind: 'deactivate-fail',
            tNs: monotonicNs(),
            host: this.name,
            worker: cleaner,
            lv,
            epoch: null,
            code: result.stderr.trim().split('\n')[0]?.slice(0, 120) ?? `exit ${result.status}`,
          },
    );
    if (result.status !== 0) this.note(`${worker}: cleanup -an ${lv} failed: ${result.stderr.trim()}`);
  }

  /** New resets in the test device's event log, logged at the device's own (monotonic) time. */
  pollResets(): boolean {
    if (!existsSync(this.paths.deviceEvents)) return false;
    const resets = readFileSync(this.paths.deviceEvents, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"type":"reset"'))
      .map((line) => JSON.parse(line) as { atSeconds: number });
    let found = false;
    for (const reset of resets.slice(this.resetsSeen)) {
      this.log({ kind: 'reset', tNs: BigInt(Math.round(reset.atSeconds * 1e9)), host: this.name });
      this.note(`${this.name}: reset by its watchdog`);
      found = true;
    }
    this.resetsSeen = resets.length;
    if (found) continueLaunchers(this.name);
    if (found || (this.state === 'up' && runningHost(this.paths.hostFile) === undefined)) {
      this.state = 'down';
      return true;
    }
    return false;
  }

  /** Boots the host again after its reset or power cycle, and rejoins the VG's lockspace. */
  async recover(): Promise<void> {
    if (this.state !== 'down' || this.stopping) return;
    this.state = 'booting';
    await sleep(this.options.bootDelaySeconds * 1000);
    try {
      await restartHost(this.cluster.dir, this.name, 'host');
    } catch (error) {
      this.note(`${this.name}: boot failed: ${(error as Error).message}`);
      this.state = 'down';
      return;
    }
    this.log({ kind: 'boot', tNs: monotonicNs(), host: this.name });
    this.note(`${this.name}: booted`);
    await this.lockstart();
    this.state = 'up';
    this.faulted = false;
  }

  /** Stops starting writers and waits (up to timeoutMs) for the current one to finish. */
  async finish(timeoutMs: number): Promise<void> {
    this.stopping = true;
    continueLaunchers(this.name);
    // The timer is cleared once the writers are done: left pending, it kept the command alive for
    // the whole timeout after the run.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((done) => {
      timer = setTimeout(done, timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.writersExited), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
