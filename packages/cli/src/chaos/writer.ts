/**
 * The chaos writer (`leasehold testing chaos-writer`): runs inside an emulated host and loops until
 * its deadline: activate an LV (`leasehold activate -aey`, or `-asy` on a shared-read LV, run in
 * this process), write
 * records through the LV's block device with O_DIRECT (each acknowledged in the history only after
 * its write returned), read them back, deactivate. Every step goes to its history file first.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DirectDisk } from '@leasehold/disk/direct';
import { runLvchange } from '../commands/lvm/lv-activate.js';
import { LvmCommandError } from '../commands/lvm/lvm-error.js';
import { appendEvent, monotonicNs } from './history-file.js';
import type { HistoryEvent, LeaseMode, ReadResult } from './history.js';
import { decodeSlot, RECORD_SIZE_BYTES } from './record.js';
import { writeAndReadBack } from './record-io.js';
import { Random } from './random.js';

/** Share of the cycles on a shared-read LV that read it shared (-asy); the rest write it (-aey). */
const SHARED_READ_RATIO = 0.6;
const CODE_MAX_CHARS = 120;
/** lvm's answer when another host holds the LV (EX, or SH when EX was asked). */
const REFUSAL = /^LV locked by other host/;
const REFUSAL_PAUSE_MS = [50, 300] as const;

export interface WriterOptions {
  historyPath: string;
  host: string;
  worker: string;
  vg: string;
  lvs: readonly string[];
  sharedLvs: readonly string[];
  deviceDir: string;
  slots: number;
  writesPerCycle: number;
  writePauseMs: number;
  untilNs: bigint;
  seed: number;
}

/**
 * `leasehold activate ARGS` in this process (what the command does, without a new node per cycle:
 * on a loaded machine the start-up of node would be most of a cycle). Never throws.
 */
async function activateCommand(args: string[]): Promise<{ ok: boolean; code: string }> {
  // The command prints why an LV failed (lvm's lines on stderr) and throws a bare FAILED: keep them.
  const printed: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stderr.write;
  try {
    await runLvchange('activate', args);
    return { ok: true, code: '' };
  } catch (error) {
    const thrown = error instanceof LvmCommandError ? error.lines.join(' ') : (error as Error).message;
    const text = `${printed.join(' ')} ${thrown}`.replace(/\s+/g, ' ').trim();
    return { ok: false, code: text.slice(0, CODE_MAX_CHARS) || 'failed' };
  } finally {
    process.stderr.write = write;
  }
}

export class ChaosWriter {
  private readonly random: Random;
  private readonly hostIndex: number;

  constructor(private readonly options: WriterOptions) {
    this.random = new Random(options.seed);
    this.hostIndex = Number(/^host(\d+)$/.exec(options.host)?.[1] ?? Number.NaN);
    if (!Number.isInteger(this.hostIndex)) throw new RangeError(`--host must be hostN, got ${options.host}`);
  }

  private log(event: HistoryEvent): void {
    appendEvent(this.options.historyPath, event);
  }

  /**
   * Cycles until the deadline (true) or until an activation command failed other than by a refusal
   * (false): such a failure may leave state in this process (a VG lock held by our connection) that
   * only our exit clears, so the writer then exits and the harness starts a fresh one.
   */
  async run(): Promise<boolean> {
    while (monotonicNs() < this.options.untilNs) {
      if (!(await this.cycle())) return false;
    }
    return true;
  }

  private async cycle(): Promise<boolean> {
    const { vg, worker, host } = this.options;
    const lv = this.random.pick(this.options.lvs);
    const mode: LeaseMode = this.options.sharedLvs.includes(lv) && this.random.next() < SHARED_READ_RATIO ? 'SH' : 'EX';
    const epoch = monotonicNs();
    this.log({ kind: 'activate-start', tNs: epoch, host, worker, lv, mode, epoch });
    const activated = await activateCommand([mode === 'EX' ? '-aey' : '-asy', `${vg}/${lv}`]);
    if (!activated.ok) {
      this.log({ kind: 'activate-fail', tNs: monotonicNs(), host, worker, lv, mode, epoch, code: activated.code });
      // A refusal (another host holds the LV) is a clean answer: the command released what it took.
      if (!REFUSAL.test(activated.code)) return false;
      await sleep(this.random.between(REFUSAL_PAUSE_MS[0], REFUSAL_PAUSE_MS[1]));
      return true;
    }
    this.log({ kind: 'activate-ok', tNs: monotonicNs(), host, worker, lv, mode, epoch });
    try {
      if (mode === 'EX') await this.writeAndReadBack(lv, epoch);
      else this.readShared(lv, epoch);
    } catch {
      // Logged as write-fail where it happened; the device may be gone (lease loss): deactivate.
    }
    this.log({ kind: 'deactivate-start', tNs: monotonicNs(), host, worker, lv, epoch });
    const deactivated = await activateCommand(['-an', `${vg}/${lv}`]);
    this.log(
      deactivated.ok
        ? { kind: 'deactivate-ok', tNs: monotonicNs(), host, worker, lv, epoch }
        : { kind: 'deactivate-fail', tNs: monotonicNs(), host, worker, lv, epoch, code: deactivated.code },
    );
    return deactivated.ok;
  }

  private open(lv: string, readOnly: boolean): DirectDisk {
    const disk = DirectDisk.openSync(join(this.options.deviceDir, this.options.vg, lv), { readOnly });
    if (disk.sectorSize !== RECORD_SIZE_BYTES) {
      disk.closeSync();
      throw new RangeError(`the chaos writer needs ${RECORD_SIZE_BYTES}-byte sectors, ${lv} has ${disk.sectorSize}`);
    }
    return disk;
  }

  private async writeAndReadBack(lv: string, epoch: bigint): Promise<void> {
    const disk = this.open(lv, false);
    try {
      await writeAndReadBack(
        {
          host: this.options.host,
          hostIndex: this.hostIndex,
          worker: this.options.worker,
          slots: this.options.slots,
          writesPerCycle: this.options.writesPerCycle,
          writePauseMs: this.options.writePauseMs,
          random: this.random,
          log: (event) => this.log(event),
        },
        disk,
        0,
        lv,
        epoch,
      );
    } finally {
      disk.closeSync();
    }
  }

  private readShared(lv: string, epoch: bigint): void {
    const { host, worker } = this.options;
    const disk = this.open(lv, true);
    try {
      for (let slot = 0; slot < this.options.slots; slot++) {
        const found = decodeSlot(disk.readSync(slot * RECORD_SIZE_BYTES, RECORD_SIZE_BYTES));
        let result: ReadResult = found.kind === 'record' ? 'ok' : found.kind;
        if (found.kind === 'record' && (found.record.slot !== slot || found.record.lv !== lv)) result = 'mismatch';
        this.log({ kind: 'read', tNs: monotonicNs(), host, worker, lv, epoch, slot, result });
      }
    } finally {
      disk.closeSync();
    }
  }
}
