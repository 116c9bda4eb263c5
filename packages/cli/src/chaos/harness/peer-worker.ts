/**
 * A peer host's worker (docs/timing.md "The chaos run"): until the deadline, take an LV's lease with
 * the peer's own tools, write records at the LV's extents on the PV with O_DIRECT and read them back,
 * release the lease. Its history is the leasehold writers' format (record-io.ts), so the checker sees
 * the peer's epochs with everyone's. A failed take that may have left the lease held (a command
 * killed by its timeout) is released again, logged as a cleanup (epoch null).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DirectDisk } from '@leasehold/disk/direct';
import { appendEvent, monotonicNs } from '../history-file.js';
import type { HistoryEvent } from '../history.js';
import { Random } from '../random.js';
import { RECORD_SIZE_BYTES } from '../record.js';
import { writeAndReadBack } from '../record-io.js';
import type { PeerLv } from './peer-layout.js';

const CODE_MAX_CHARS = 120;
/**
 * Pause after a refusal, and between cycles: the leasehold writers get their turns too, and the peer's
 * VG lock ballots (lvchange takes the VG lock) stay few, since a real sanlock outbid in a ballot by a
 * leasehold host can take tens of seconds to raise its ballot number past it (docs/timing.md).
 */
const PAUSE_MS = [500, 2000] as const;
/** Releases tried before the worker gives up on an LV (its lease then stays held until the peer stops). */
const RELEASE_ATTEMPTS = 5;
const RELEASE_RETRY_MS = 1000;

export interface PeerAnswer {
  ok: boolean;
  /** Why not, in a line (the tool's output). */
  code: string;
  /** The command's end is unknown (killed by its timeout): the lease may be held all the same. */
  ambiguous: boolean;
}

/** How a peer takes and releases an LV's lease with its own tools. */
export interface PeerLeases {
  acquire(lv: PeerLv): Promise<PeerAnswer>;
  release(lv: PeerLv): Promise<PeerAnswer>;
}

export interface PeerWorkerOptions {
  host: string;
  hostIndex: number;
  worker: string;
  historyPath: string;
  pvPath: string;
  lvs: readonly PeerLv[];
  slots: number;
  writesPerCycle: number;
  writePauseMs: number;
  seed: number;
}

export function shortCode(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, CODE_MAX_CHARS) || 'failed';
}

export class PeerWorker {
  private readonly random: Random;
  activations = 0;

  constructor(
    private readonly options: PeerWorkerOptions,
    private readonly leases: PeerLeases,
  ) {
    this.random = new Random(options.seed);
  }

  private log(event: HistoryEvent): void {
    appendEvent(this.options.historyPath, event);
  }

  async run(untilNs: bigint): Promise<void> {
    const disk = DirectDisk.openSync(this.options.pvPath);
    try {
      if (disk.sectorSize !== RECORD_SIZE_BYTES)
        throw new RangeError(`the chaos peers need ${RECORD_SIZE_BYTES}-byte sectors, the PV has ${disk.sectorSize}`);
      while (monotonicNs() < untilNs) {
        await this.cycle(disk);
        await sleep(this.random.between(PAUSE_MS[0], PAUSE_MS[1]));
      }
    } finally {
      disk.closeSync();
    }
  }

  private async cycle(disk: DirectDisk): Promise<void> {
    const { host, worker } = this.options;
    const target = this.random.pick(this.options.lvs);
    const lv = target.lv;
    const epoch = monotonicNs();
    this.log({ kind: 'activate-start', tNs: epoch, host, worker, lv, mode: 'EX', epoch });
    const taken = await this.leases.acquire(target);
    if (!taken.ok) {
      this.log({ kind: 'activate-fail', tNs: monotonicNs(), host, worker, lv, mode: 'EX', epoch, code: taken.code });
      if (taken.ambiguous) await this.release(target, null);
      return;
    }
    this.log({ kind: 'activate-ok', tNs: monotonicNs(), host, worker, lv, mode: 'EX', epoch });
    this.activations++;
    try {
      await writeAndReadBack(
        {
          host,
          hostIndex: this.options.hostIndex,
          worker,
          slots: this.options.slots,
          writesPerCycle: this.options.writesPerCycle,
          writePauseMs: this.options.writePauseMs,
          random: this.random,
          log: (event) => this.log(event),
        },
        disk,
        target.dataOffsetBytes,
        lv,
        epoch,
      );
    } catch {
      // Logged as write-fail where it happened: release all the same.
    }
    await this.release(target, epoch);
  }

  /** Releases the lease, retrying a failed release (each try in the history). */
  private async release(target: PeerLv, epoch: bigint | null): Promise<void> {
    const { host, worker } = this.options;
    const lv = target.lv;
    for (let attempt = 1; attempt <= RELEASE_ATTEMPTS; attempt++) {
      this.log({ kind: 'deactivate-start', tNs: monotonicNs(), host, worker, lv, epoch });
      const released = await this.leases.release(target);
      if (released.ok) {
        this.log({ kind: 'deactivate-ok', tNs: monotonicNs(), host, worker, lv, epoch });
        return;
      }
      this.log({ kind: 'deactivate-fail', tNs: monotonicNs(), host, worker, lv, epoch, code: released.code });
      await sleep(RELEASE_RETRY_MS);
    }
  }
}
