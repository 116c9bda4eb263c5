/**
 * Host liveness table (§3), pure: no I/O, no clock. Every time is the OBSERVER's clock, passed in.
 *
 * Liveness is judged only by change: after each sample of the lockspace area, each slot's
 * (owner_id, owner_generation, timestamp) triple is compared with the previous sample of that slot;
 * a change means the owner renewed, and `last_live` becomes the time we observed it. The remote
 * timestamp is another host's clock and is never compared with ours, only for inequality. Because
 * `last_live` is when we SAW the change, it is always late, which is the safe direction.
 *
 * Silence is proven only up to the last time we actually looked. A sample shows the disk as it was
 * at some moment during its read, so "no change" is proven up to the moment the read was ISSUED
 * (`lastCheckStartSeconds`), not up to now: a host whose renewal we saw at last_live and which had
 * not changed by then has been silent for `last_check_start - last_live`, no more. FAIL and DEAD
 * are judged from that, so an observer that was paused, or whose own reads stalled, keeps the
 * state its last sample proved instead of declaring live hosts DEAD from an old sample (sanlock
 * judges `now - last_live`, which is only right while samples are fresh). The state therefore
 * only moves when a new sample comes in; callers that need to know how fresh the verdict is look
 * at `lastCheckStartSeconds`.
 */
import type { LeaderRecord } from '@leasehold/ondisk';
import { hostDeadSeconds, idRenewalFailSeconds } from '../timeouts.js';
import type { HostState, HostStatus } from './api.js';
import { effectiveIoTimeoutSeconds } from './config.js';

/** What one sample shows of one slot (decoded from its delta lease). */
export interface HostSample {
  ownerId: bigint;
  ownerGeneration: bigint;
  timestamp: bigint;
  ioTimeoutSeconds: number;
  hostName: string;
}

/** The sample a delta lease record gives (its resource_name is the owner's host name). */
export function hostSampleOf(leader: LeaderRecord): HostSample {
  return {
    ownerId: leader.ownerId,
    ownerGeneration: leader.ownerGeneration,
    timestamp: leader.timestamp,
    ioTimeoutSeconds: leader.ioTimeoutSeconds,
    hostName: leader.resourceName,
  };
}

export interface LivenessParameters {
  /** Our own host_id (always LIVE), or 0 for an observer that has not joined. */
  selfHostId: number;
  /** Used for hosts that publish io_timeout 0 (§3). */
  ourIoTimeoutSeconds: number;
  /** W: not on disk, the same on every host (§3). */
  watchdogFireTimeoutSeconds: number;
}

/** The table's memory of one slot. Values are those of the last observed change. */
/** Numbers kept per zero-triple slot: first check, last check, last check start (see HostTable.zeroSlots). */
const ZERO_SLOT_FIELDS = 3;

interface SlotMemory {
  ownerId: bigint;
  ownerGeneration: bigint;
  timestamp: bigint;
  ioTimeoutSeconds: number;
  hostName: string;
  firstCheckSeconds: number;
  lastCheckSeconds: number;
  /** When the read behind lastCheckSeconds was issued: silence is proven up to here. */
  lastCheckStartSeconds: number;
  lastLiveSeconds: number | undefined;
}

export class HostTable {
  private readonly slots = new Map<number, SlotMemory>();
  /**
   * Host ids whose triple has ever been non-zero here, so statuses() need not walk the thousands of
   * never-acquired slots a whole-area sample creates. Bounded by the slots, which the geometry bounds.
   */
  private readonly everHeld = new Set<number>();
  /**
   * Check times of the slots sampled so far only with the zero triple (most of a whole area), by
   * host_id: ZERO_SLOT_FIELDS numbers each (first check, last check, last check start; NaN: never
   * sampled) instead of a SlotMemory and a Map entry, which cost about 250 KB per 2000-slot
   * lockspace. A slot moves to `slots` at its first non-zero sample.
   */
  private zeroSlots = new Float64Array(0);

  constructor(private params: LivenessParameters) {}

  get parameters(): LivenessParameters {
    return this.params;
  }

  /** Our host_id stops being "always LIVE" once we released or lost it. */
  setSelfHostId(selfHostId: number): void {
    this.params = { ...this.params, selfHostId };
  }

  /**
   * §3 steps 1-2: records one sample of `hostId`, read between observer times `readStartSeconds`
   * (when the read was issued; default `nowSeconds`) and `nowSeconds` (when it completed).
   * A change counts from `nowSeconds` (last_live late: safe); "no change" proves silence only up to
   * `readStartSeconds` (the read may have sampled the disk that early, and its data may have been
   * delivered much later, e.g. after a hung I/O).
   * Returns true when the triple changed (the first non-zero sample counts as a change, since the
   * remembered state starts at zero).
   */
  observe(hostId: number, sample: HostSample, nowSeconds: number, readStartSeconds: number = nowSeconds): boolean {
    if (!this.slots.has(hostId) && sample.ownerId === 0n && sample.ownerGeneration === 0n && sample.timestamp === 0n) {
      this.checkedZeroSlot(hostId, nowSeconds, readStartSeconds);
      return false;
    }
    const slot = this.checkedSlot(hostId, nowSeconds, readStartSeconds);
    const changed =
      sample.ownerId !== slot.ownerId ||
      sample.ownerGeneration !== slot.ownerGeneration ||
      sample.timestamp !== slot.timestamp;
    if (!changed) return false;
    this.everHeld.add(hostId);
    slot.ownerId = sample.ownerId;
    slot.ownerGeneration = sample.ownerGeneration;
    slot.timestamp = sample.timestamp;
    slot.ioTimeoutSeconds = sample.ioTimeoutSeconds;
    slot.hostName = sample.hostName;
    slot.lastLiveSeconds = nowSeconds;
    return true;
  }

  /**
   * The cheap half of observe() for a whole-area read, where most slots have not changed (and most
   * are empty): when the slot's triple is the one the table holds (a slot never sampled holds the
   * zero triple), records the sample exactly as observe() would and returns true, without the rest
   * of the record having been decoded. Otherwise records nothing and returns false: the caller
   * decodes the record and calls observe().
   */
  observeIfUnchanged(
    hostId: number,
    ownerId: bigint,
    ownerGeneration: bigint,
    timestamp: bigint,
    nowSeconds: number,
    readStartSeconds: number = nowSeconds,
  ): boolean {
    const known = this.slots.get(hostId);
    const unchanged =
      known === undefined
        ? ownerId === 0n && ownerGeneration === 0n && timestamp === 0n
        : ownerId === known.ownerId && ownerGeneration === known.ownerGeneration && timestamp === known.timestamp;
    if (!unchanged) return false;
    if (known === undefined) this.checkedZeroSlot(hostId, nowSeconds, readStartSeconds);
    else this.checkedSlot(hostId, nowSeconds, readStartSeconds);
    return true;
  }

  /** A zero-triple sample of a slot that has held nothing yet: its check times only (see zeroSlots). */
  private checkedZeroSlot(hostId: number, nowSeconds: number, readStartSeconds: number): void {
    const checkStartSeconds = Math.min(readStartSeconds, nowSeconds);
    const at = hostId * ZERO_SLOT_FIELDS;
    if (at + ZERO_SLOT_FIELDS > this.zeroSlots.length) {
      const grown = new Float64Array(Math.max(at + ZERO_SLOT_FIELDS, 2 * this.zeroSlots.length)).fill(Number.NaN);
      grown.set(this.zeroSlots);
      this.zeroSlots = grown;
    }
    const zero = this.zeroSlots;
    if (Number.isNaN(zero[at]!)) {
      zero[at] = nowSeconds;
      zero[at + 2] = checkStartSeconds;
    }
    zero[at + 1] = nowSeconds;
    // Never move evidence back (see checkedSlot).
    zero[at + 2] = Math.max(zero[at + 2]!, checkStartSeconds);
  }

  /** The memory of a slot known only from zero-triple samples, as checkedSlot would have kept it. */
  private zeroSlotMemory(hostId: number): SlotMemory | undefined {
    const at = hostId * ZERO_SLOT_FIELDS;
    const first = this.zeroSlots[at];
    if (first === undefined || Number.isNaN(first)) return undefined;
    return {
      ownerId: 0n,
      ownerGeneration: 0n,
      timestamp: 0n,
      ioTimeoutSeconds: 0,
      hostName: '',
      firstCheckSeconds: first,
      lastCheckSeconds: this.zeroSlots[at + 1]!,
      lastCheckStartSeconds: this.zeroSlots[at + 2]!,
      lastLiveSeconds: undefined,
    };
  }

  /** The slot's memory (created at its first sample, with the zero triple), its check times updated. */
  private checkedSlot(hostId: number, nowSeconds: number, readStartSeconds: number): SlotMemory {
    const checkStartSeconds = Math.min(readStartSeconds, nowSeconds);
    let slot = this.slots.get(hostId);
    if (slot === undefined) {
      // Its zero-triple samples so far, if any, become its memory.
      slot = this.zeroSlotMemory(hostId) ?? {
        ownerId: 0n,
        ownerGeneration: 0n,
        timestamp: 0n,
        ioTimeoutSeconds: 0,
        hostName: '',
        firstCheckSeconds: nowSeconds,
        lastCheckSeconds: nowSeconds,
        lastCheckStartSeconds: checkStartSeconds,
        lastLiveSeconds: undefined,
      };
      if (hostId * ZERO_SLOT_FIELDS < this.zeroSlots.length) this.zeroSlots[hostId * ZERO_SLOT_FIELDS] = Number.NaN;
      this.slots.set(hostId, slot);
    }
    slot.lastCheckSeconds = nowSeconds;
    // Samples can complete out of order only if a caller overlaps reads; never move evidence back.
    slot.lastCheckStartSeconds = Math.max(slot.lastCheckStartSeconds, checkStartSeconds);
    return slot;
  }

  /**
   * Status of one slot asked at observer time `nowSeconds`; undefined if it was never sampled. The
   * state is the one the latest sample proves (see hostState): it does not age between samples.
   */
  status(hostId: number, nowSeconds: number): HostStatus | undefined {
    const slot = this.slots.get(hostId) ?? this.zeroSlotMemory(hostId);
    return slot === undefined ? undefined : this.toStatus(hostId, slot, nowSeconds);
  }

  /** Every slot that has ever held an owner (FREE ones included, after a release), by host_id. */
  statuses(nowSeconds: number): HostStatus[] {
    const result: HostStatus[] = [];
    for (const hostId of this.everHeld) {
      const slot = this.slots.get(hostId);
      if (slot === undefined) continue;
      if (slot.ownerId === 0n && slot.ownerGeneration === 0n && slot.timestamp === 0n) continue;
      result.push(this.toStatus(hostId, slot, nowSeconds));
    }
    return result.sort((a, b) => a.hostId - b.hostId);
  }

  private toStatus(hostId: number, slot: SlotMemory, nowSeconds: number): HostStatus {
    return {
      hostId,
      state: hostState(slot, nowSeconds, this.params, hostId === this.params.selfHostId),
      ownerId: slot.ownerId,
      generation: slot.ownerGeneration,
      timestamp: slot.timestamp,
      hostName: slot.hostName,
      ioTimeoutSeconds: slot.ioTimeoutSeconds,
      firstCheckSeconds: slot.firstCheckSeconds,
      lastCheckSeconds: slot.lastCheckSeconds,
      lastCheckStartSeconds: slot.lastCheckStartSeconds,
      lastLiveSeconds: slot.lastLiveSeconds,
    };
  }
}

/** What hostState needs to know about a slot (a HostStatus has all of it). */
export interface LivenessFacts {
  timestamp: bigint;
  ioTimeoutSeconds: number;
  firstCheckSeconds: number | undefined;
  /** When the latest sample completed. */
  lastCheckSeconds: number | undefined;
  /** When the latest sample's read was issued (silence is proven up to here); falls back to lastCheckSeconds. */
  lastCheckStartSeconds?: number | undefined;
  lastLiveSeconds: number | undefined;
}

/**
 * How long the host has provably been silent (§3): from its last observed change (last_live, or
 * first_check if none was seen) to the issue time of our latest sample, which still showed the
 * same triple. Never negative; 0 when nothing was sampled. This, not `now - last_live`, is the
 * evidence: our newest sample may be old (we were paused, or our own reads stalled), and nothing
 * is known about the host after it.
 */
export function provenSilenceSeconds(facts: LivenessFacts): number {
  const last = facts.lastLiveSeconds ?? facts.firstCheckSeconds;
  const checkedAt = facts.lastCheckStartSeconds ?? facts.lastCheckSeconds;
  if (last === undefined || checkedAt === undefined) return 0;
  return Math.max(0, checkedAt - last);
}

/**
 * §3 state table, with last = last_live (or first_check if never seen live),
 * fail = 8·N_other and dead = 8·N_other + W, N_other = the host's published io_timeout (ours if 0),
 * and silence = provenSilenceSeconds() (last_check_start - last) instead of sanlock's now - last:
 *   FREE     timestamp == 0
 *   LIVE     ourselves, or silence <= fail and a change was seen after first_check
 *   UNKNOWN  silence <= fail and first_check == last_live (only one sample so far)
 *   FAIL     fail < silence <= dead
 *   DEAD     silence > dead
 * `nowSeconds` only caps the evidence (a sample cannot prove anything after now); the verdict does
 * not age between samples. A healthy observer samples every 2N (its renewal), so FAIL / DEAD still
 * come within one renewal interval after the formula times.
 */
export function hostState(
  facts: LivenessFacts,
  nowSeconds: number,
  params: LivenessParameters,
  isSelf: boolean,
): HostState {
  if (facts.timestamp === 0n) return 'FREE';
  if (isSelf) return 'LIVE';
  const last = facts.lastLiveSeconds ?? facts.firstCheckSeconds;
  if (last === undefined) return 'UNKNOWN';
  const ioTimeoutSeconds = effectiveIoTimeoutSeconds(facts.ioTimeoutSeconds, params.ourIoTimeoutSeconds);
  const checkedAt = facts.lastCheckStartSeconds ?? facts.lastCheckSeconds ?? last;
  const silenceSeconds = Math.max(0, Math.min(checkedAt, nowSeconds) - last);
  if (silenceSeconds <= idRenewalFailSeconds(ioTimeoutSeconds)) {
    return facts.lastLiveSeconds === undefined || facts.lastLiveSeconds === facts.firstCheckSeconds
      ? 'UNKNOWN'
      : 'LIVE';
  }
  if (silenceSeconds <= hostDeadSeconds(ioTimeoutSeconds, params.watchdogFireTimeoutSeconds)) return 'FAIL';
  return 'DEAD';
}

/**
 * Observer time after which the host is DEAD if a sample whose read is issued after it still shows
 * no change (§3: last + 8·N_other + W). Not a verdict by itself: only such a sample proves it
 * (hostState / provenSilenceSeconds).
 */
export function hostDeadAtSeconds(facts: LivenessFacts, params: LivenessParameters): number | undefined {
  const last = facts.lastLiveSeconds ?? facts.firstCheckSeconds;
  if (last === undefined) return undefined;
  const ioTimeoutSeconds = effectiveIoTimeoutSeconds(facts.ioTimeoutSeconds, params.ourIoTimeoutSeconds);
  return last + hostDeadSeconds(ioTimeoutSeconds, params.watchdogFireTimeoutSeconds);
}
