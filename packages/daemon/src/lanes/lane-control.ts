/**
 * Shared memory between the main thread and a renewal lane: one slot per lockspace on the lane, with
 * a state and the start time of the I/O in progress.
 *
 * The worker brackets every synchronous I/O of a lockspace with enter()/exit(): IDLE -> BUSY -> IDLE
 * (compare-and-swap). The main thread reads the start times to see that a lane sits in one I/O for
 * too long (its device hangs), and fences the lane's other lockspaces with IDLE -> FENCED, which
 * cannot succeed while their I/O is in flight. A fenced slot refuses every later I/O, so once the
 * main thread has moved a lockspace to another lane, the old lane can never write for it again,
 * even when its stuck syscall returns.
 */
export const MAX_SLOTS_PER_LANE = 64;
export const SLOT_IDLE = 0;
export const SLOT_BUSY = 1;
export const SLOT_FENCED = 2;

const STATE_BYTES = MAX_SLOTS_PER_LANE * Int32Array.BYTES_PER_ELEMENT;
const START_BYTES = MAX_SLOTS_PER_LANE * BigInt64Array.BYTES_PER_ELEMENT;

/** Monotonic milliseconds, the same in every thread of the process. */
export function monotonicMs(): bigint {
  return process.hrtime.bigint() / 1_000_000n;
}

export class LaneControl {
  readonly buffer: SharedArrayBuffer;
  private readonly states: Int32Array;
  private readonly starts: BigInt64Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(STATE_BYTES + START_BYTES)) {
    this.buffer = buffer;
    this.states = new Int32Array(buffer, 0, MAX_SLOTS_PER_LANE);
    this.starts = new BigInt64Array(buffer, STATE_BYTES, MAX_SLOTS_PER_LANE);
  }

  /** Worker: an I/O of `slot` begins; false if the slot is fenced (the I/O must not happen). */
  enter(slot: number): boolean {
    if (Atomics.compareExchange(this.states, slot, SLOT_IDLE, SLOT_BUSY) !== SLOT_IDLE) return false;
    Atomics.store(this.starts, slot, monotonicMs());
    return true;
  }

  /** Worker: the I/O of `slot` returned. */
  exit(slot: number): void {
    Atomics.store(this.starts, slot, 0n);
    Atomics.compareExchange(this.states, slot, SLOT_BUSY, SLOT_IDLE);
  }

  /** Main: forbid every further I/O of `slot`. 'busy' when an I/O of it is in flight right now. */
  fence(slot: number): 'fenced' | 'busy' {
    const previous = Atomics.compareExchange(this.states, slot, SLOT_IDLE, SLOT_FENCED);
    return previous === SLOT_BUSY ? 'busy' : 'fenced';
  }

  /** Main: a slot handed to a new lockspace starts idle. */
  reset(slot: number): void {
    Atomics.store(this.starts, slot, 0n);
    Atomics.store(this.states, slot, SLOT_IDLE);
  }

  /** Main: the slot whose I/O has been in flight longest, if longer than `thresholdMs`. */
  stalledSlot(thresholdMs: number): number | undefined {
    const now = monotonicMs();
    let worst: number | undefined;
    let worstStart = 0n;
    for (let slot = 0; slot < MAX_SLOTS_PER_LANE; slot++) {
      if (Atomics.load(this.states, slot) !== SLOT_BUSY) continue;
      const start = Atomics.load(this.starts, slot);
      if (start === 0n || now - start < BigInt(thresholdMs)) continue;
      if (worst === undefined || start < worstStart) {
        worst = slot;
        worstStart = start;
      }
    }
    return worst;
  }
}
