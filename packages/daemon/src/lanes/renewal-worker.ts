/**
 * Worker thread of a renewal lane: the delta leases (host_id leases) of the lockspaces whose area is
 * on one device, renewed with synchronous O_DIRECT I/O. Nothing else runs here: resource-lease I/O
 * has its own lane, so an acquire never sits in front of a renewal, and a device that hangs blocks
 * this thread only (the main thread notices the missed deadline on its own clock).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assertNever } from '@leasehold/host-core';
import {
  acquireDeltaLease,
  DeltaError,
  type HeldDeltaLease,
  readLockspaceHosts,
  resumeDeltaLease,
  runRenewalLoop,
  type DeltaLeaseConfig,
  type DeltaOwnerWait,
  type Logger,
  type RenewalLoopOutcome,
} from '@leasehold/lease';
import type { JoinedReply, LaneReply, RenewalCommand, RenewalNote, SlotsReply } from './lane-messages.js';
import { LaneDisks } from './lane-disks.js';
import { LaneControl } from './lane-control.js';
import { slotDisk } from './slot-disk.js';
import type { Disk } from '@leasehold/disk';
import { failureOf, monotonicClock as clock, portLogger } from './worker-support.js';

interface LaneWorkerData {
  laneKey: string;
  testFaultDir: string | undefined;
  logLevel: string;
  control: SharedArrayBuffer;
}

const port = parentPort!;
const data = workerData as LaneWorkerData;
const logger = portLogger(port, { lane: data.laneKey, thread: 'renewal' }, data.logLevel);
const disks = new LaneDisks(data.testFaultDir);
const control = new LaneControl(data.control);

/** The lockspace's guarded view of its device (refused once the main thread fences the slot). */
function diskFor(path: string, slot: number): Disk {
  // Opening the device can hang too (a dead NFS server, a dying disk): bracket it like an I/O.
  if (!control.enter(slot)) throw new DeltaError('IO_ERROR', 'this lockspace has moved to another lane');
  let disk: Disk;
  try {
    disk = disks.acquire(path);
  } finally {
    control.exit(slot);
  }
  return slotDisk(disk, control, slot);
}

interface Joined {
  lease: HeldDeltaLease;
  path: string;
  stop: AbortController;
  loop: Promise<RenewalLoopOutcome>;
}

const joined = new Map<string, Joined>();
const joining = new Map<string, AbortController>();

function note(message: RenewalNote): void {
  port.postMessage(message);
}

function reply(reqId: number, work: () => Promise<unknown>): void {
  work().then(
    (value) => port.postMessage({ type: 'reply', reqId, ok: true, value } satisfies LaneReply),
    (error: unknown) =>
      port.postMessage({ type: 'reply', reqId, ok: false, error: failureOf(error) } satisfies LaneReply),
  );
}

/** The lockstart progress line while the host_id's previous owner is watched: who, and is it alive. */
function ownerWaitText(wait: DeltaOwnerWait): string {
  const who = `host_id ${wait.hostId} is held by "${wait.ownerName}" (generation ${wait.ownerGeneration})`;
  return wait.renewing
    ? `${who}, which is still renewing it: it is alive; use another host_id, or stop that host`
    : `${who}, not renewed for ${Math.round(wait.waitedSeconds)} s: waiting up to ${Math.round(wait.waitSeconds)} s for it to be dead`;
}

/** Forwards the acquire's "waiting for the previous owner" log line as a progress note. */
function progressLogger(lockspace: string): Logger {
  return {
    ...logger,
    info(fields: object, message: string) {
      logger.info({ lockspace, ...fields }, message);
      const waitSeconds = (fields as { waitSeconds?: unknown }).waitSeconds;
      if (typeof waitSeconds === 'number') {
        note({ type: 'progress', lockspace, phase: 'wait-previous-owner', message, expectedSeconds: waitSeconds });
      }
    },
  };
}

function startLoop(lease: HeldDeltaLease, path: string): Joined {
  const lockspace = lease.config.spaceName;
  const stop = new AbortController();
  const loop = runRenewalLoop(
    lease,
    clock,
    {
      onRenewed: (renewed) =>
        note({
          type: 'renewed',
          lockspace,
          lastRenewalSeconds: renewed.lastRenewalSeconds,
          durationMs: Math.round((clock.nowSeconds() - renewed.lastRenewalSeconds) * 1000),
          hosts: renewed.hosts(),
        }),
      onRenewalError: (error, sinceSeconds) =>
        note({
          type: 'renewal_error',
          lockspace,
          code: error.code,
          message: error.message,
          sinceSeconds,
          atSeconds: clock.nowSeconds(),
        }),
      onWarn: (sinceSeconds) => note({ type: 'renewal_warn', lockspace, sinceSeconds }),
      onLost: (error) => note({ type: 'lost', lockspace, code: error.code, message: error.message }),
      onEvent: (event) => note({ type: 'event', lockspace, event }),
      onPing: (fromHostId) => note({ type: 'ping', lockspace, fromHostId }),
    },
    stop.signal,
    { logger },
  );
  const entry: Joined = { lease, path, stop, loop };
  joined.set(lockspace, entry);
  // When the loop ends by itself (lost), the device is no longer ours to use for this lockspace.
  void loop.then((outcome) => {
    if (outcome === 'lost' && joined.get(lockspace) === entry) {
      joined.delete(lockspace);
      disks.release(path);
    }
  });
  return entry;
}

function joinedReply(lease: HeldDeltaLease): JoinedReply {
  return {
    hosts: lease.hosts(),
    generation: lease.generation,
    lastRenewalSeconds: lease.lastRenewalSeconds,
    geometry: lease.geometry,
    hostId: lease.config.hostId,
  };
}

async function join(
  config: DeltaLeaseConfig,
  path: string,
  slot: number,
  onlyIfFree: boolean,
  giveUpWhenRenewed: boolean,
): Promise<JoinedReply> {
  const lockspace = config.spaceName;
  if (joined.has(lockspace) || joining.has(lockspace))
    throw new DeltaError('INVALID_ARGUMENT', `lockspace ${lockspace} is already joined in this lane`);
  const abort = new AbortController();
  // An already aborted signal makes the acquire give up at once when the slot belongs to a stranger
  // (free slots and our own stale lease go ahead): auto selection must not wait host_dead_seconds.
  if (onlyIfFree) abort.abort();
  const disk = diskFor(path, slot);
  joining.set(lockspace, abort);
  try {
    const lease = await acquireDeltaLease(disk, clock, config, {
      logger: progressLogger(lockspace),
      signal: abort.signal,
      giveUpWhenRenewed,
      onOwnerWait: (wait) =>
        note({
          type: 'progress',
          lockspace,
          phase: 'wait-previous-owner',
          message: ownerWaitText(wait),
          expectedSeconds: wait.waitSeconds,
        }),
    });
    startLoop(lease, path);
    return joinedReply(lease);
  } catch (error) {
    disks.release(path);
    throw error;
  } finally {
    joining.delete(lockspace);
  }
}

async function resume(
  config: DeltaLeaseConfig,
  path: string,
  slot: number,
  generation: bigint,
  minimumRemainingSeconds: number,
): Promise<JoinedReply> {
  const lockspace = config.spaceName;
  if (joined.has(lockspace) || joining.has(lockspace))
    throw new DeltaError('INVALID_ARGUMENT', `lockspace ${lockspace} is already joined in this lane`);
  const disk = diskFor(path, slot);
  try {
    const lease = await resumeDeltaLease(disk, clock, config, generation, minimumRemainingSeconds, logger);
    startLoop(lease, path);
    return joinedReply(lease);
  } catch (error) {
    disks.release(path);
    throw error;
  }
}

async function leave(lockspace: string): Promise<{ released: boolean }> {
  const entry = joined.get(lockspace);
  if (entry === undefined) return { released: false };
  joined.delete(lockspace);
  entry.stop.abort();
  await entry.loop;
  let released = false;
  if (!entry.lease.lost) {
    await entry.lease.release();
    released = !entry.lease.lost;
  }
  disks.release(entry.path);
  return { released };
}

/** Stops the renewals of a lockspace that moved to another lane, without writing or reporting anything. */
function forget(lockspace: string): void {
  joining.get(lockspace)?.abort();
  const entry = joined.get(lockspace);
  if (entry === undefined) return;
  joined.delete(lockspace);
  entry.stop.abort();
  void entry.loop.finally(() => disks.release(entry.path));
}

function abandon(lockspace: string, reason: string): void {
  joining.get(lockspace)?.abort();
  const entry = joined.get(lockspace);
  if (entry === undefined) return;
  joined.delete(lockspace);
  entry.lease.markLost(new DeltaError('LEASE_LOST', reason));
  entry.stop.abort();
  void entry.loop.finally(() => disks.release(entry.path));
}

async function readSlots(lockspace: string, path: string, offsetBytes: number, slot: number): Promise<SlotsReply> {
  const disk = diskFor(path, slot);
  try {
    const snapshot = await readLockspaceHosts(disk, { spaceName: lockspace, areaOffsetBytes: offsetBytes });
    return {
      maxHosts: snapshot.geometry.maxHosts,
      slots: snapshot.slots.map((slot) => ({
        hostId: slot.hostId,
        ownerId: slot.leader.ownerId,
        generation: slot.leader.ownerGeneration,
        timestamp: slot.leader.timestamp,
        hostName: slot.leader.resourceName,
        valid: slot.valid,
      })),
    };
  } finally {
    disks.release(path);
  }
}

function heldLease(lockspace: string): HeldDeltaLease {
  const entry = joined.get(lockspace);
  if (entry === undefined) throw new DeltaError('NOT_JOINED', `lockspace ${lockspace} is not joined`);
  return entry.lease;
}

port.on('message', (command: RenewalCommand) => {
  switch (command.type) {
    case 'read_slots':
      return reply(command.reqId, () => readSlots(command.lockspace, command.path, command.offsetBytes, command.slot));
    case 'join':
      return reply(command.reqId, () =>
        join(command.config, command.path, command.slot, command.onlyIfFree, command.giveUpWhenRenewed ?? false),
      );
    case 'resume':
      return reply(command.reqId, () =>
        resume(command.config, command.path, command.slot, command.generation, command.minimumRemainingSeconds),
      );
    case 'forget':
      return forget(command.lockspace);
    case 'cancel_join':
      joining.get(command.lockspace)?.abort();
      return;
    case 'leave':
      return reply(command.reqId, () => leave(command.lockspace));
    case 'abandon':
      return abandon(command.lockspace, command.reason);
    case 'set_event':
      return reply(command.reqId, async () => {
        heldLease(command.lockspace).setEvent(command.hostId, command.event, command.data, {
          generation: command.generation,
          replace: command.replace,
        });
        return {};
      });
    case 'ping_host':
      try {
        heldLease(command.lockspace).pingHost(command.hostId);
      } catch (error) {
        logger.warn({ lockspace: command.lockspace, hostId: command.hostId, error }, 'ping not sent');
      }
      return;
    default:
      return assertNever(command, 'renewal lane command');
  }
});
