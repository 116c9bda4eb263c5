/**
 * Worker thread of a resource lane: the paxos (resource) lease I/O of one lockspace, with
 * synchronous O_DIRECT calls. It runs beside the lockspace's renewal lane, so a ballot's large reads,
 * or an acquire waiting for a dead owner, never delay a renewal; a device that hangs here stalls the
 * resource operations of this lockspace only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Disk } from '@leasehold/disk';
import { acquireLease, convertLease, examineRequests, releaseLease, requestLease, type HeldLease, type PaxosContext } from '@leasehold/lease';
import { DeltaView } from './delta-view.js';
import type { LaneReply, PlacedLease, ResourceCommand, ResourceNote, ResourceWhere } from './lane-messages.js';
import { LaneDisks } from './lane-disks.js';
import { failureOf, monotonicClock as clock, portLogger } from './worker-support.js';

interface LaneWorkerData {
  laneKey: string;
  testFaultDir: string | undefined;
  logLevel: string;
}

const port = parentPort!;
const data = workerData as LaneWorkerData;
const logger = portLogger(port, { lane: data.laneKey, thread: 'resource' }, data.logLevel);
const disks = new LaneDisks(data.testFaultDir);
/** Devices stay open for the life of the lane (a lockspace uses few), so releases need no open(2). */
const open = new Map<string, Disk>();
const pending = new Map<number, AbortController>();
const random = { next: () => Math.random() };
let view: DeltaView | undefined;

function diskOf(path: string): Disk {
  let disk = open.get(path);
  if (disk === undefined) {
    disk = disks.acquire(path);
    open.set(path, disk);
  }
  return disk;
}

function requireView(): DeltaView {
  if (view === undefined) throw Object.assign(new Error('the resource lane is not attached to a delta lease'), { code: 'NOT_JOINED' });
  return view;
}

function context(path: string): PaxosContext {
  const delta = requireView();
  return { disk: delta.guardDisk(diskOf(path)), clock, random, delta, logger };
}

function locationOf(where: ResourceWhere): { spaceName: string; resourceName: string; offsetBytes: number } {
  return { spaceName: requireView().config.spaceName, resourceName: where.resource, offsetBytes: where.offsetBytes };
}

function reply(reqId: number, work: (signal: AbortSignal) => Promise<unknown>): void {
  const abort = new AbortController();
  pending.set(reqId, abort);
  let run: Promise<unknown>;
  try {
    run = work(abort.signal);
  } catch (error) {
    run = Promise.reject(error);
  }
  run.then(
    (value) => port.postMessage({ type: 'reply', reqId, ok: true, value } satisfies LaneReply),
    (error: unknown) => port.postMessage({ type: 'reply', reqId, ok: false, error: failureOf(error) } satisfies LaneReply),
  ).finally(() => pending.delete(reqId));
}

function note(message: ResourceNote): void {
  port.postMessage(message);
}

async function examine(leases: PlacedLease[], fromHostIds: number[]): Promise<Array<{ lease: PlacedLease; requestLver: bigint; action: string }>> {
  const byPath = new Map<string, PlacedLease[]>();
  for (const lease of leases) byPath.set(lease.path, [...(byPath.get(lease.path) ?? []), lease]);
  const out: Array<{ lease: PlacedLease; requestLver: bigint; action: string }> = [];
  for (const [path, placed] of byPath) {
    const notices = await examineRequests({ disk: diskOf(path), logger }, placed.map((p) => p.held), fromHostIds);
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
      view = new DeltaView(init, diskOf(init.path), clock, (hostId) => note({ type: 'ping_host', hostId }));
      return;
    }
    case 'renewed':
      view?.renewed(command.lastRenewalSeconds, command.hosts);
      return;
    case 'detach':
      view?.detach();
      for (const abort of pending.values()) abort.abort();
      return;
    case 'acquire':
      return reply(command.reqId, (signal) =>
        acquireLease(context(command.where.path), locationOf(command.where), {
          mode: command.mode,
          waitSeconds: command.waitSeconds,
          signal,
          ...(command.lver === undefined ? {} : { lver: command.lver }),
        }),
      );
    case 'release':
      return reply(command.reqId, async () => ({ outcome: await releaseLease(context(command.lease.path), command.lease.held) }));
    case 'convert':
      return reply(command.reqId, (signal): Promise<HeldLease> =>
        convertLease(context(command.lease.path), command.lease.held, command.mode, { waitSeconds: command.waitSeconds, signal }),
      );
    case 'cancel':
      pending.get(command.targetReqId)?.abort();
      return;
    case 'examine_requests':
      return reply(command.reqId, () => examine(command.leases, command.fromHostIds));
    case 'request':
      return reply(command.reqId, () =>
        requestLease({ disk: context(command.where.path).disk, delta: requireView(), logger }, locationOf(command.where), {
          lver: command.lver,
          forceMode: command.forceMode,
          nextLver: command.nextLver,
        }),
      );
  }
});
