/**
 * One exclusive activation's records: write them to the LV's first sectors with O_DIRECT (each in the
 * history as write-start before it is issued and write-ok only after it returned), then read back the
 * last record of every slot written. The leasehold writers do it through the LV's block device, the
 * peers (docs/timing.md "The chaos run") straight at the LV's extents on the PV: `baseOffsetBytes` is
 * where the LV's sector 0 is on `disk`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DirectDisk } from '@leasehold/disk/direct';
import { monotonicNs } from './history-file.js';
import type { HistoryEvent, ReadResult } from './history.js';
import type { Random } from './random.js';
import { decodeSlot, encodeRecord, RECORD_SIZE_BYTES } from './record.js';

export interface RecordIo {
  host: string;
  hostIndex: number;
  worker: string;
  slots: number;
  writesPerCycle: number;
  writePauseMs: number;
  random: Random;
  log: (event: HistoryEvent) => void;
}

export async function writeAndReadBack(
  io: RecordIo,
  disk: DirectDisk,
  baseOffsetBytes: number,
  lv: string,
  epoch: bigint,
): Promise<void> {
  const { host, worker, hostIndex } = io;
  const lastSeqOfSlot = new Map<number, bigint>();
  for (let index = 0; index < io.writesPerCycle; index++) {
    const seq = BigInt(index);
    const slot = io.random.below(io.slots);
    const issuedAtNs = monotonicNs();
    const bytes = encodeRecord({ hostIndex, slot, epoch, seq, issuedAtNs, lv });
    io.log({ kind: 'write-start', tNs: issuedAtNs, host, worker, lv, epoch, seq, slot });
    try {
      disk.writeSync(baseOffsetBytes + slot * RECORD_SIZE_BYTES, bytes);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'EIO';
      io.log({ kind: 'write-fail', tNs: monotonicNs(), host, worker, lv, epoch, seq, slot, code });
      throw error;
    }
    io.log({ kind: 'write-ok', tNs: monotonicNs(), host, worker, lv, epoch, seq, slot });
    lastSeqOfSlot.set(slot, seq);
    if (io.writePauseMs > 0) await sleep(io.writePauseMs);
  }
  for (const [slot, seq] of lastSeqOfSlot) {
    const found = decodeSlot(disk.readSync(baseOffsetBytes + slot * RECORD_SIZE_BYTES, RECORD_SIZE_BYTES));
    let result: ReadResult;
    if (found.kind === 'record') {
      const r = found.record;
      const ours = r.hostIndex === hostIndex && r.epoch === epoch && r.seq === seq && r.slot === slot && r.lv === lv;
      result = ours ? 'ok' : 'mismatch';
    } else {
      result = found.kind === 'empty' ? 'mismatch' : found.kind;
    }
    io.log({ kind: 'read', tNs: monotonicNs(), host, worker, lv, epoch, slot, result });
  }
}
