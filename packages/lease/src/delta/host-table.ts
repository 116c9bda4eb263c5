/**
 * Host liveness table (§3), pure: no I/O, no clock. Every time is the OBSERVER's clock, passed in.
 *
 * Liveness is judged only by change: after each sample of the lockspace area, each slot's
 * (owner_id, owner_generation, timestamp) triple is compared with the previous sample of that slot;
 * a change means the owner renewed, and `last_live` becomes the time we observed it. The remote
 * timestamp is another host's clock and is never compared with ours, only for inequality. Because
 * `last_live` is when we SAW the change, it is always late, which is the safe direction.
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
interface SlotMemory {
  ownerId: bigint;
  ownerGeneration: bigint;
  timestamp: bigint;
  ioTimeoutSeconds: number;
  hostName: string;
  firstCheckSeconds: number;
  lastCheckSeconds: number;
  lastLiveSeconds: number | undefined;
}

export class HostTable {
  private readonly slots = new Map<number, SlotMemory>();

  constructor(private params: LivenessParameters) {}

  get parameters(): LivenessParameters {
    return this.params;
  }

  /** Our host_id stops being "always LIVE" once we released or lost it. */
  setSelfHostId(selfHostId: number): void {
    this.params = { ...this.params, selfHostId };
  }

  /**
   * §3 steps 1-2: records one sample of `hostId` taken at observer time `nowSeconds`.
   * Returns true when the triple changed (the first non-zero sample counts as a change, since the
   * remembered state starts at zero).
   */
  observe(hostId: number, sample: HostSample, nowSeconds: number): boolean {
    let slot = this.slots.get(hostId);
    if (slot === undefined) {
      slot = {
        ownerId: 0n,
        ownerGeneration: 0n,
        timestamp: 0n,
        ioTimeoutSeconds: 0,
        hostName: '',
        firstCheckSeconds: nowSeconds,
        lastCheckSeconds: nowSeconds,
        lastLiveSeconds: undefined,
      };
      this.slots.set(hostId, slot);
    }
    slot.lastCheckSeconds = nowSeconds;
    const changed =
      sample.ownerId !== slot.ownerId || sample.ownerGeneration !== slot.ownerGeneration || sample.timestamp !== slot.timestamp;
    if (!changed) return false;
    slot.ownerId = sample.ownerId;
    slot.ownerGeneration = sample.ownerGeneration;
    slot.timestamp = sample.timestamp;
    slot.ioTimeoutSeconds = sample.ioTimeoutSeconds;
    slot.hostName = sample.hostName;
    slot.lastLiveSeconds = nowSeconds;
    return true;
  }

  /** Status of one slot at observer time `nowSeconds`; undefined if it was never sampled. */
  status(hostId: number, nowSeconds: number): HostStatus | undefined {
    const slot = this.slots.get(hostId);
    return slot === undefined ? undefined : this.toStatus(hostId, slot, nowSeconds);
  }

  /** Every slot that has ever held an owner (FREE ones included, after a release), by host_id. */
  statuses(nowSeconds: number): HostStatus[] {
    const result: HostStatus[] = [];
    for (const [hostId, slot] of this.slots) {
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
      lastLiveSeconds: slot.lastLiveSeconds,
    };
  }
}

/** What hostState needs to know about a slot. */
export interface LivenessFacts {
  timestamp: bigint;
  ioTimeoutSeconds: number;
  firstCheckSeconds: number | undefined;
  lastLiveSeconds: number | undefined;
}

/**
 * §3 state table, with last = last_live (or first_check if never seen live),
 * fail = 8·N_other and dead = 8·N_other + W, N_other = the host's published io_timeout (ours if 0):
 *   FREE     timestamp == 0
 *   LIVE     ourselves, or now-last <= fail and a change was seen after first_check
 *   UNKNOWN  now-last <= fail and first_check == last_live (only one sample so far)
 *   FAIL     fail < now-last <= dead
 *   DEAD     now-last > dead
 */
export function hostState(facts: LivenessFacts, nowSeconds: number, params: LivenessParameters, isSelf: boolean): HostState {
  if (facts.timestamp === 0n) return 'FREE';
  if (isSelf) return 'LIVE';
  const last = facts.lastLiveSeconds ?? facts.firstCheckSeconds;
  if (last === undefined) return 'UNKNOWN';
  const ioTimeoutSeconds = effectiveIoTimeoutSeconds(facts.ioTimeoutSeconds, params.ourIoTimeoutSeconds);
  const sinceLastSeconds = nowSeconds - last;
  if (sinceLastSeconds <= idRenewalFailSeconds(ioTimeoutSeconds)) {
    return facts.lastLiveSeconds === undefined || facts.lastLiveSeconds === facts.firstCheckSeconds ? 'UNKNOWN' : 'LIVE';
  }
  if (sinceLastSeconds <= hostDeadSeconds(ioTimeoutSeconds, params.watchdogFireTimeoutSeconds)) return 'FAIL';
  return 'DEAD';
}

/** Observer time after which a host is DEAD if no further change is seen (§3: last + 8·N_other + W). */
export function hostDeadAtSeconds(facts: LivenessFacts, params: LivenessParameters): number | undefined {
  const last = facts.lastLiveSeconds ?? facts.firstCheckSeconds;
  if (last === undefined) return undefined;
  const ioTimeoutSeconds = effectiveIoTimeoutSeconds(facts.ioTimeoutSeconds, params.ourIoTimeoutSeconds);
  return last + hostDeadSeconds(ioTimeoutSeconds, params.watchdogFireTimeoutSeconds);
}
