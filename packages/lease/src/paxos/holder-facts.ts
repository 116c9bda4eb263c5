/**
 * What we can say about a lease holder from our host table (§3): its name, its delta-lease state,
 * when we last saw it renew and from when on it counts as dead. For errors a user reads.
 */
import type { HostStatus } from '../delta/api.js';
import { effectiveIoTimeoutSeconds } from '../delta/config.js';
import { hostDeadSeconds } from '../timeouts.js';
import type { LeaseHolder } from './errors.js';
import type { LeaseMode } from './types.js';

export interface HolderFactsInput {
  hostId: number;
  generation: bigint;
  mode: LeaseMode;
  /** Our table's entry for the host, if any (only used when it is about the same generation). */
  status: HostStatus | undefined;
  /** A name read from its delta sector, preferred over the table's. */
  hostName?: string;
  /**
   * Overrides the table's idea of the deadline (the owner-liveness wait has its own start). Either
   * way a deadline only: silence is proven by a look issued after it (§3), not by the clock passing it.
   */
  deadAtSeconds?: number;
  ourIoTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
}

export function holderFacts(input: HolderFactsInput): LeaseHolder {
  const holder: LeaseHolder = { hostId: input.hostId, generation: input.generation, mode: input.mode };
  const status = input.status !== undefined && input.status.generation === input.generation ? input.status : undefined;
  const hostName = input.hostName ?? status?.hostName;
  if (hostName !== undefined && hostName !== '') holder.hostName = hostName;
  if (status !== undefined) {
    holder.state = status.state;
    if (status.lastLiveSeconds !== undefined) holder.lastLiveSeconds = status.lastLiveSeconds;
  }
  if (input.deadAtSeconds !== undefined) {
    holder.deadAtSeconds = input.deadAtSeconds;
  } else if (status !== undefined) {
    const last = status.lastLiveSeconds ?? status.firstCheckSeconds;
    if (last !== undefined) {
      const ioTimeoutSeconds = effectiveIoTimeoutSeconds(status.ioTimeoutSeconds, input.ourIoTimeoutSeconds);
      holder.deadAtSeconds = last + hostDeadSeconds(ioTimeoutSeconds, input.watchdogFireTimeoutSeconds);
    }
  }
  return holder;
}

const DECIMALS = 1;

/** "host_id 2 "name" generation 3 (exclusive), LIVE, last renewal seen 1.5 s ago, dead in 60.0 s". */
export function describeHolder(holder: LeaseHolder, nowSeconds: number): string {
  const parts = [
    `host_id ${holder.hostId}${holder.hostName === undefined ? '' : ` "${holder.hostName}"`} generation ${holder.generation} (${holder.mode})`,
  ];
  if (holder.state !== undefined) parts.push(holder.state);
  if (holder.lastLiveSeconds !== undefined) {
    parts.push(`last renewal seen ${(nowSeconds - holder.lastLiveSeconds).toFixed(DECIMALS)} s ago`);
  } else {
    parts.push('no renewal seen yet');
  }
  if (holder.deadAtSeconds !== undefined) {
    const remaining = holder.deadAtSeconds - nowSeconds;
    // deadAtSeconds is a deadline, not a verdict (§3): only a look issued after it that still shows
    // no renewal proves death. Past it, a holder can still be live when our own sampling is behind.
    parts.push(
      remaining > 0
        ? `counts as dead in ${remaining.toFixed(DECIMALS)} s unless it renews`
        : 'past its deadline: dead once a look issued since shows no renewal',
    );
  }
  return parts.join(', ');
}
