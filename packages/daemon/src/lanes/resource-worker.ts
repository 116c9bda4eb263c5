/**
 * Worker thread of a resource lane: the paxos (resource) lease I/O of the lockspaces attached to
 * it, with synchronous O_DIRECT calls. It runs beside the renewal lanes, so a ballot's large reads,
 * or an acquire waiting for a dead owner, never delay a renewal. Every I/O is bracketed in the
 * lockspace's slot of the shared LaneControl: when one device hangs here, the main thread sees it,
 * fences the other lockspaces off this lane and serves them from a fresh one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assertNever } from '@leasehold/host-core';
import type { Disk } from '@leasehold/disk';
import {
  acquireLease,
  convertLease,
  DeltaLeaseView,
  examineRequests,
  releaseLease,
  requestLease,
  type HeldLease,
  type PaxosContext,
} from '@leasehold/lease';
import type { LaneReply, PlacedLease, ResourceCommand, ResourceNote, ResourceWhere } from './lane-messages.js';
import { LaneControl } from './lane-control.js';
import { LaneDisks } from './lane-disks.js';
import { slotDisk } from './slot-disk.js';
import { failureOf, monotonicClock as clock, portLogger } from './worker-support.js';

interface LaneWorkerData {
  laneKey: string;
  testFaultDir: string | undefined;
  logLevel: string;
  control: SharedArrayBuffer;
}

interface Attached {
  view: DeltaLeaseView;
  slot: number;
}

const port = parentPort!;
const data = workerData as LaneWorkerData;
const logger = portLogger(port, { lane: data.laneKey, thread: 'resource' }, data.logLevel);
const disks = new LaneDisks(data.testFaultDir);
const control = new LaneControl(data.control);
/** Devices stay open for the life of the lane (lockspaces use few), so releases need no open(2). */
const open = new Map<string, Disk>();
const attached = new Map<string, Attached>();
/** Commands in progress; `abort` only for those that take a signal (see reply). */
const pending = new Map<number, { lockspace: string | undefined; abort: AbortController | undefined }>();
const random = { next: () => Math.random() };

class LaneError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The device, opened on first use; the open is bracketed in `slot` (it can hang too). */
function deviceOf(path: string, slot: number): Disk {
  let disk = open.get(path);
  if (disk === undefined) {
    if (!control.enter(slot)) throw new LaneError('IO_ERROR', 'this lockspace has moved to another lane');
    try {
      disk = disks.acquire(path);
    } finally {
      control.exit(slot);
    }
    open.set(path, disk);
  }
  return disk;
}

function attachment(lockspace: string): Attached {
  const entry = attached.get(lockspace);
  if (entry === undefined)
    throw new LaneError('NOT_JOINED', `lockspace ${lockspace} is not attached to this resource lane`);
  return entry;
}

/** Paxos context for one operation: guarded writes (deadline), bracketed I/O (slot). */
function context(lockspace: string, path: string): PaxosContext {
  const { view, slot } = attachment(lockspace);
  return { disk: view.fence(slotDisk(deviceOf(path, slot), control, slot)), clock, random, delta: view, logger };
}

function locationOf(
  lockspace: string,
  where: ResourceWhere,
): { spaceName: string; resourceName: string; offsetBytes: number } {
  return {
    spaceName: attachment(lockspace).view.config.spaceName,
    resourceName: where.resource,
    offsetBytes: where.offsetBytes,
  };
}

/** Runs `work`, which a cancel or a detach may abort through its signal, and posts its reply. */
function replyCancellable(
  reqId: number,
  lockspace: string | undefined,
  work: (signal: AbortSignal) => Promise<unknown>,
): void {
  const abort = new AbortController();
  replyWith(reqId, lockspace, abort, () => work(abort.signal));
}

/**
 * Runs `work`, which cannot be cancelled (release, examine, request), and posts its reply. It gets
 * no AbortController: one costs about 10 us, on every release.
 */
function reply(reqId: number, lockspace: string | undefined, work: () => Promise<unknown>): void {
  replyWith(reqId, lockspace, undefined, work);
}

function replyWith(
  reqId: number,
  lockspace: string | undefined,
  abort: AbortController | undefined,
  work: () => Promise<unknown>,
): void {
  pending.set(reqId, { lockspace, abort });
  let run: Promise<unknown>;
  try {
    run = work();
  } catch (error) {
    run = Promise.reject(error);
  }
  run
    .then(
      (value) => port.postMessage({ type: 'reply', reqId, ok: true, value } satisfies LaneReply),
      (error: unknown) =>
        port.postMessage({ type: 'reply', reqId, ok: false, error: failureOf(error) } satisfies LaneReply),
    )
    .finally(() => pending.delete(reqId));
}

function note(message: ResourceNote): void {
  port.postMessage(message);
}

async function examine(
  lockspace: string,
  leases: PlacedLease[],
  fromHostIds: number[],
): Promise<Array<{ lease: PlacedLease; requestLver: bigint; action: string }>> {
  const byPath = new Map<string, PlacedLease[]>();
  for (const lease of leases) byPath.set(lease.path, [...(byPath.get(lease.path) ?? []), lease]);
  const out: Array<{ lease: PlacedLease; requestLver: bigint; action: string }> = [];
  for (const [path, placed] of byPath) {
    const notices = await examineRequests(
      { disk: context(lockspace, path).disk, logger },
      placed.map((p) => p.held),
      fromHostIds,
    );
    for (const notice of notices) {
      const lease = placed.find((p) => p.held === notice.lease)!;
      out.push({ lease, requestLver: notice.requestLver, action: notice.action });
    }
  }
  return out;
}

port.on('message', (command: ResourceCommand) => {
  switch (command.type) {
    case 'attach': {
      const init = command.view;
      try {
        const lockspaceDisk = slotDisk(deviceOf(init.path, command.slot), control, command.slot);
        const view = new DeltaLeaseView(init, lockspaceDisk, clock, (hostId) =>
          note({ type: 'ping_host', lockspace: command.lockspace, hostId }),
        );
        attached.set(command.lockspace, { view, slot: command.slot });
      } catch (error) {
        // Its operations will fail NOT_JOINED; the lane goes on serving the others.
        logger.error(
          { lockspace: command.lockspace, err: failureOf(error) },
          'cannot attach the lockspace to the resource lane',
        );
      }
      return;
    }
    case 'renewed':
      attached.get(command.lockspace)?.view.renewed(command.lastRenewalSeconds, command.hosts);
      return;
    case 'detach': {
      attached.get(command.lockspace)?.view.detach();
      attached.delete(command.lockspace);
      for (const entry of pending.values()) if (entry.lockspace === command.lockspace) entry.abort?.abort();
      return;
    }
    case 'acquire':
      return replyCancellable(command.reqId, command.lockspace, (signal) =>
        acquireLease(context(command.lockspace, command.where.path), locationOf(command.lockspace, command.where), {
          mode: command.mode,
          waitSeconds: command.waitSeconds,
          signal,
          ...(command.lver === undefined ? {} : { lver: command.lver }),
          ...(command.valueBlock === true ? { valueBlock: true } : {}),
        }),
      );
    case 'release':
      return reply(command.reqId, command.lockspace, async () => ({
        outcome: await releaseLease(context(command.lockspace, command.lease.path), command.lease.held),
      }));
    case 'convert':
      return replyCancellable(
        command.reqId,
        command.lockspace,
        (signal): Promise<HeldLease> =>
          convertLease(context(command.lockspace, command.lease.path), command.lease.held, command.mode, {
            waitSeconds: command.waitSeconds,
            signal,
          }),
      );
    case 'cancel':
      pending.get(command.targetReqId)?.abort?.abort();
      return;
    case 'examine_requests':
      return reply(command.reqId, command.lockspace, () =>
        examine(command.lockspace, command.leases, command.fromHostIds),
      );
    case 'request':
      return reply(command.reqId, command.lockspace, () =>
        requestLease(
          {
            disk: context(command.lockspace, command.where.path).disk,
            delta: attachment(command.lockspace).view,
            logger,
          },
          locationOf(command.lockspace, command.where),
          {
            lver: command.lver,
            forceMode: command.forceMode,
            nextLver: command.nextLver,
          },
        ),
      );
    default:
      return assertNever(command, 'resource lane command');
  }
});
