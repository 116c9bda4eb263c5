import { hostDeadSeconds, idRenewalFailSeconds } from '@leasehold/lease';
import { formatSeconds } from '../trace.js';
import type { DeltaObservations, SlotWrite } from './observations.js';
import { EPSILON_SECONDS, type DeltaViolation } from './violations.js';

/** One lease: the writes one incarnation made into one slot with one generation, in landing order. */
export interface LeaseWrites {
  writer: string;
  slot: number;
  generation: bigint;
  writes: SlotWrite[];
}

/** Groups each slot's writes into leases. */
export function leasesOf(observations: DeltaObservations): LeaseWrites[] {
  const leases = new Map<string, LeaseWrites>();
  for (const [slot, writes] of observations.writesBySlot) {
    for (const write of writes) {
      const key = `${slot}/${write.writer}/${write.generation}`;
      let lease = leases.get(key);
      if (lease === undefined) {
        lease = { writer: write.writer, slot, generation: write.generation, writes: [] };
        leases.set(key, lease);
      }
      lease.writes.push(write);
    }
  }
  return [...leases.values()];
}

/**
 * A lease never comes back after observers may have declared it dead:
 * - between renewals, each write is issued less than 8N after the one before (a renewal starts,
 *   and writes, only within 8N of the last successful one, which started no later than its write);
 * - between the acquire's write and the next one (the acquire waits 2N' and re-reads in between),
 *   the gap stays under 8N + W. Observers call a host DEAD once it has been silent that long, so a
 *   lease that writes again after that is a dead host coming back (e.g. one paused or hung during
 *   its acquire). A longer-than-8N gap there only shows as FAIL to observers and is allowed.
 * Returns the violations and, per lease key, the time of the first such write.
 */
export function checkSilence(
  leases: readonly LeaseWrites[],
  watchdogFireTimeoutSeconds: (writer: string) => number,
): { violations: DeltaViolation[]; brokenAtSeconds: Map<string, number> } {
  const violations: DeltaViolation[] = [];
  const brokenAtSeconds = new Map<string, number>();
  for (const lease of leases) {
    for (let index = 1; index < lease.writes.length; index++) {
      const before = lease.writes[index - 1] as SlotWrite;
      const after = lease.writes[index] as SlotWrite;
      if (before.timestamp === 0n) break; // released: the next write is a new story
      const limitSeconds =
        index === 1
          ? hostDeadSeconds(before.ioTimeoutSeconds, watchdogFireTimeoutSeconds(lease.writer))
          : idRenewalFailSeconds(before.ioTimeoutSeconds);
      const gapSeconds = after.issuedAtSeconds - before.issuedAtSeconds;
      if (gapSeconds <= limitSeconds + EPSILON_SECONDS) continue;
      brokenAtSeconds.set(leaseKey(lease.slot, lease.writer, lease.generation), after.issuedAtSeconds);
      violations.push({
        kind: 'silence',
        text:
          `${lease.writer} wrote slot ${lease.slot} (gen ${lease.generation}) at ${formatSeconds(after.issuedAtSeconds)} after ` +
          `${gapSeconds.toFixed(3)} s of silence (previous write issued ${formatSeconds(before.issuedAtSeconds)}); ` +
          `the limit is ${limitSeconds.toFixed(3)} s, so observers may already have declared it dead`,
      });
      break;
    }
  }
  return { violations, brokenAtSeconds };
}

export function leaseKey(slot: number, writer: string, generation: bigint): string {
  return `${slot}/${writer}/${generation}`;
}
