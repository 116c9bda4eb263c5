/**
 * Choosing a host_id without bookkeeping ("auto"). A slot is taken through the normal delta-lease
 * acquire, so two hosts picking at once can never both win: both write, both wait 2 x io_timeout and
 * re-read, and whoever finds the other's name fails HOSTID_BUSY (possibly both) and picks again.
 *
 * Order of preference:
 *   1. a slot that holds our own host name (our earlier incarnation: the fast reacquire);
 *   2. a free slot (timestamp 0), chosen at random among the lowest PICK_WINDOW free ones, so two
 *      hosts starting together rarely collide; the acquire is told to give up at once if the slot
 *      turns out to belong to someone else (it never waits host_dead_seconds for a stranger);
 *   3. when no slot is free: a held slot, through the full acquire, which waits the previous
 *      owner's host_dead_seconds and takes the slot only if it did not change (a dead host's).
 */
import { MAX_HOST_ID } from '@leasehold/ondisk';
import type { Logger } from '@leasehold/lease';
import { DaemonError } from '@leasehold/protocol';
import type { JoinedReply, SlotsReply } from '../lanes/lane-messages.js';
import { sleepMs } from '../util/monotonic.js';

/** Free slots considered at random. */
export const PICK_WINDOW = 16;
/** Attempts on free slots before trying held ones. */
export const MAX_FREE_PICK_ATTEMPTS = 24;
/** Random pause before picking again after losing a race (milliseconds, uniform in [0, this)). */
export const PICK_RETRY_JITTER_MS = 300;

export interface PickerIo {
  readSlots(): Promise<SlotsReply>;
  /** Joins with `hostId`; onlyIfFree: give up at once if a stranger holds it. */
  join(hostId: number, onlyIfFree: boolean): Promise<JoinedReply>;
  progress(message: string): void;
  /** True once the start was cancelled. */
  cancelled(): boolean;
}

const RACE_CODES = new Set(['HOSTID_BUSY', 'ABORTED']);

function isRaceLoss(error: unknown): boolean {
  return typeof error === 'object' && error !== null && RACE_CODES.has(String((error as { code?: unknown }).code));
}

export async function pickHostIdAndJoin(
  io: PickerIo,
  hostName: string,
  logger: Logger,
  random: () => number = Math.random,
): Promise<JoinedReply> {
  const lost = new Set<number>();
  for (let attempt = 0; attempt < MAX_FREE_PICK_ATTEMPTS; attempt++) {
    if (io.cancelled()) throw new DaemonError('ABORTED', 'lockstart was cancelled');
    const { maxHosts, slots } = await io.readSlots();
    const own = slots.find((slot) => slot.valid && slot.hostName === hostName && !lost.has(slot.hostId));
    let hostId: number | undefined = own?.hostId;
    if (hostId === undefined) {
      const taken = new Set(slots.filter((slot) => slot.timestamp !== 0n).map((slot) => slot.hostId));
      const free: number[] = [];
      for (let id = 1; id <= Math.min(maxHosts, MAX_HOST_ID) && free.length < PICK_WINDOW; id++) {
        if (!taken.has(id) && !lost.has(id)) free.push(id);
      }
      if (free.length === 0) break;
      hostId = free[Math.floor(random() * free.length)]!;
    }
    io.progress(`trying host_id ${hostId}${own !== undefined ? ' (our earlier one)' : ' (free)'}`);
    try {
      return await io.join(hostId, true);
    } catch (error) {
      if (!isRaceLoss(error)) throw error;
      logger.info(
        { hostId, code: (error as { code: string }).code },
        'auto host_id: slot taken by another host, picking again',
      );
      lost.add(hostId);
      await sleepMs(Math.floor(random() * PICK_RETRY_JITTER_MS));
    }
  }
  return takeDeadSlot(io, lost, logger, random);
}

async function takeDeadSlot(
  io: PickerIo,
  lost: Set<number>,
  logger: Logger,
  random: () => number,
): Promise<JoinedReply> {
  const { slots } = await io.readSlots();
  const held = slots.filter((slot) => slot.timestamp !== 0n && !lost.has(slot.hostId)).map((slot) => slot.hostId);
  // Random order, so hosts that all found the lockspace full do not queue on the same slot.
  for (let i = held.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [held[i], held[j]] = [held[j]!, held[i]!];
  }
  for (const hostId of held) {
    if (io.cancelled()) throw new DaemonError('ABORTED', 'lockstart was cancelled');
    io.progress(`no free host_id; waiting to see whether host_id ${hostId} is dead`);
    try {
      return await io.join(hostId, false);
    } catch (error) {
      if (!isRaceLoss(error)) throw error;
      logger.info({ hostId }, 'auto host_id: held slot is alive');
    }
  }
  throw new DaemonError(
    'HOSTID_UNAVAILABLE',
    'no free or dead host_id could be taken in this lockspace; set one in host-id.conf or free a slot',
  );
}
