/** Builds chaos histories and the device images they leave, for the checker's tests. */
import type { CheckInput } from '../../src/chaos/checker/check.js';
import type { FaultKind, HistoryEvent, LeaseMode } from '../../src/chaos/history.js';
import { decodeSlot, encodeRecord, type DecodedSlot } from '../../src/chaos/record.js';

export const SLOTS_PER_LV = 8;
export const SECOND_NS = 1_000_000_000n;
/** The test's minimum takeover delay: 10 s. */
export const MIN_TAKEOVER_DELAY_NS = 10n * SECOND_NS;

export interface WriteOptions {
  /** The write returned (write-ok logged). Default true. */
  ack?: boolean;
  /** The record reached the device. Default true. */
  land?: boolean;
}

export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  readonly images = new Map<string, DecodedSlot[]>();
  private nowNs = 1000n * SECOND_NS;
  private workers = 0;

  constructor(readonly lvs: readonly string[]) {
    for (const lv of lvs)
      this.images.set(
        lv,
        Array.from({ length: SLOTS_PER_LV }, () => ({ kind: 'empty' })),
      );
  }

  /** Moves the clock on (default 1 ms) and returns the new time. */
  tick(ns = 1_000_000n): bigint {
    this.nowNs += ns;
    return this.nowNs;
  }

  get now(): bigint {
    return this.nowNs;
  }

  newWorker(host: string): string {
    this.workers++;
    return `${host}-w${this.workers}`;
  }

  activate(
    host: string,
    lv: string,
    mode: LeaseMode,
    worker = this.newWorker(host),
  ): { epoch: bigint; worker: string } {
    const epoch = this.tick();
    this.events.push({ kind: 'activate-start', tNs: epoch, host, worker, lv, mode, epoch });
    this.events.push({ kind: 'activate-ok', tNs: this.tick(), host, worker, lv, mode, epoch });
    return { epoch, worker };
  }

  write(
    host: string,
    worker: string,
    lv: string,
    epoch: bigint,
    seq: bigint,
    slot: number,
    options: WriteOptions = {},
  ): void {
    const issuedAtNs = this.tick();
    this.events.push({ kind: 'write-start', tNs: issuedAtNs, host, worker, lv, epoch, seq, slot });
    if (options.land ?? true) {
      const hostIndex = Number(host.slice('host'.length));
      this.setSlot(lv, slot, encodeRecord({ hostIndex, slot, epoch, seq, issuedAtNs, lv }));
    }
    if (options.ack ?? true)
      this.events.push({ kind: 'write-ok', tNs: this.tick(), host, worker, lv, epoch, seq, slot });
  }

  setSlot(lv: string, slot: number, bytes: Uint8Array): void {
    const image = this.images.get(lv);
    if (image === undefined) throw new Error(`no LV ${lv}`);
    image[slot] = decodeSlot(bytes);
  }

  read(host: string, worker: string, lv: string, epoch: bigint, slot: number, result: 'ok' | 'mismatch'): void {
    this.events.push({ kind: 'read', tNs: this.tick(), host, worker, lv, epoch, slot, result });
  }

  deactivate(host: string, worker: string, lv: string, epoch: bigint | null): void {
    this.events.push({ kind: 'deactivate-start', tNs: this.tick(), host, worker, lv, epoch });
    this.events.push({ kind: 'deactivate-ok', tNs: this.tick(), host, worker, lv, epoch });
  }

  workerExit(host: string, worker: string, signal: string | null = null): void {
    this.events.push({ kind: 'worker-exit', tNs: this.tick(), host, worker, code: signal === null ? 0 : null, signal });
  }

  fault(host: string, fault: FaultKind): bigint {
    const at = this.tick();
    this.events.push({ kind: 'fault', tNs: at, host, fault });
    return at;
  }

  reset(host: string): void {
    this.events.push({ kind: 'reset', tNs: this.tick(), host });
  }

  boot(host: string): void {
    this.events.push({ kind: 'boot', tNs: this.tick(), host });
  }

  /** One clean cycle: activate EX, write `slots`, read them back, deactivate. */
  cleanCycle(host: string, lv: string, slots: readonly number[]): bigint {
    const { epoch, worker } = this.activate(host, lv, 'EX');
    slots.forEach((slot, seq) => {
      this.write(host, worker, lv, epoch, BigInt(seq), slot);
    });
    for (const slot of slots) this.read(host, worker, lv, epoch, slot, 'ok');
    this.deactivate(host, worker, lv, epoch);
    this.workerExit(host, worker);
    return epoch;
  }

  input(): CheckInput {
    return {
      events: [...this.events],
      images: [...this.images].map(([lv, slots]) => ({ lv, slots: [...slots] })),
      minTakeoverDelayNs: MIN_TAKEOVER_DELAY_NS,
      runEndNs: this.tick(),
    };
  }
}
