/** The shapes shared by the paxos resource-lease operations (§5, §6). */
import type { Disk } from '@leasehold/disk';
import type { Dblock, Geometry, LeaderRecord } from '@leasehold/ondisk';
import type { Clock, Random } from '../clock.js';
import type { PaxosDeltaView } from '../delta/paxos-view.js';
import type { Logger } from '../logger.js';
import type { BallotRangeOptions } from './ballot-range.js';
import type { LeaseValueBlock } from './value-block.js';

export type LeaseMode = 'exclusive' | 'shared';

/** Where a resource lease lives: `LOCKSPACE:RESOURCE:PATH:OFFSET` without the path (the Disk is given apart). */
export interface ResourceLocation {
  spaceName: string;
  resourceName: string;
  /** Absolute offset of the lease area on the disk (a multiple of its align size, §2.1). */
  offsetBytes: number;
}

/**
 * What every operation runs with. Only injected things: the disk holding the lease, our clock and
 * randomness, and our held delta lease (our host_id and generation, and the host liveness table the
 * owner checks of §5.1 step 3 and §5.4 rely on). No Date.now, timers or fs.
 */
export interface PaxosContext {
  disk: Disk;
  clock: Clock;
  random: Random;
  delta: PaxosDeltaView;
  logger?: Logger;
  /** How ballots bound their reads (ballot-range.ts); the default is the safe one. For tests. */
  ballotRange?: BallotRangeOptions;
}

/** A resource lease this host holds. Immutable: operations return a new value. */
export interface HeldLease {
  readonly location: ResourceLocation;
  readonly geometry: Geometry;
  readonly hostId: number;
  /** Our delta-lease generation when we acquired it. */
  readonly generation: bigint;
  readonly mode: LeaseMode;
  /**
   * The lver of the ballot that gave us the lease (§5.1). A request is acted on when its lver is
   * greater (§6 step 4).
   */
  readonly lver: bigint;
  /**
   * The leader as we left it: after an exclusive acquire, the commit (release frees it only if it is
   * still exactly that, §5.2); after a shared acquire, the freed leader.
   */
  readonly leader: LeaderRecord;
  /**
   * Our dblock from that ballot. Every later write of our sector keeps these values (with RELEASED
   * set when we let go), so that concurrent ballots of other hosts are not confused (§5.3).
   */
  readonly dblock: Dblock;
  /** Our clock when the acquire (or the last conversion) returned. */
  readonly acquiredAtSeconds: number;
  /** The value block, when acquired with it (value-block.ts). */
  readonly valueBlock?: LeaseValueBlock;
}

/** A short text naming a lease in messages: `LS:RES@offset`. */
export function describeLocation(location: ResourceLocation): string {
  return `${location.spaceName}:${location.resourceName}@${location.offsetBytes}`;
}
