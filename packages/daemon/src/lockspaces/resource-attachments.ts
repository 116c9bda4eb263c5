/**
 * Which lockspace's resource-lease I/O runs on which resource lane, and for how long: a lockspace is
 * attached to a lane (with the view of our delta lease that Paxos needs) while it has resource
 * operations, and detached when it has been idle for RESOURCE_LANE_IDLE_MS, when it is lost or
 * stopped, or when its lane stalls on another lockspace's device. This is I/O plumbing of the
 * daemon's shell: it decides nothing about leases (the host core does).
 */
import type { Logger } from '@leasehold/lease';
import type { DaemonConfig } from '../config/daemon-config.js';
import type { ResourceCommand, ResourceNote } from '../lanes/lane-messages.js';
import type { WithoutReqId } from '../lanes/lane.js';
import { ResourceLanes, type ResourceLane } from '../lanes/lane-pool.js';
import { MovedError, type Lockspace } from './lockspace.js';

/** A resource lane with nothing to do is stopped after this long. */
export const RESOURCE_LANE_IDLE_MS = 60_000;
/** How many times one resource operation may be moved off stalled lanes before it fails. */
export const MAX_RESOURCE_MOVES = 3;

export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type ResourceCall = DistributiveOmit<WithoutReqId<Extract<ResourceCommand, { reqId: number }>>, 'lockspace'>;

interface Attachment {
  /** Resource operations in progress (the lane is not left while any are). */
  ops: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export class ResourceAttachments {
  private readonly lanes: ResourceLanes;
  private readonly attachments = new Map<string, Attachment>();

  constructor(
    config: DaemonConfig,
    private readonly hostName: string,
    private readonly logger: Logger,
    onNote: (lane: ResourceLane, note: ResourceNote) => void,
    /** The lockspace's coded refusal when it is not usable (not joined, or past its deadline). */
    private readonly refusal: (ls: Lockspace) => Error,
    lookup: (name: string) => Lockspace | undefined,
  ) {
    this.lanes = new ResourceLanes(
      logger,
      config.testFaultDir,
      config.logLevel,
      {
        onNote,
        onMoved: (names) => {
          for (const name of names) lookup(name)?.markResourceMoved();
        },
      },
      config.lanes === 'per-device',
    );
  }

  laneOf(name: string): ResourceLane | undefined {
    return this.lanes.laneOf(name);
  }

  count(): number {
    return this.lanes.count();
  }

  /**
   * Runs one resource-lane command for the lockspace, attaching it to a lane first if needed. When
   * the lane stalls on another lockspace's device meanwhile, the lockspace is fenced off it and the
   * command starts again on a fresh lane (the old lane can no longer do I/O for it, and every
   * resource operation may be repeated from the start: a ballot that had already committed us finds
   * our own value). Aborting `signal` cancels the command in the lane.
   */
  async call<T>(ls: Lockspace, command: ResourceCall, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (!ls.usable) throw this.refusal(ls);
      const epoch = ls.resourceEpoch;
      const lane = this.attach(ls);
      let laneReqId = 0;
      const onAbort = (): void => lane.send({ type: 'cancel', targetReqId: laneReqId });
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const call = lane.call<T>(
          { ...command, lockspace: ls.name } as WithoutReqId<Extract<ResourceCommand, { reqId: number }>>,
          (reqId) => {
            laneReqId = reqId;
          },
        );
        return await Promise.race([call, ls.whenResourceMoved(epoch)]);
      } catch (error) {
        if (!(error instanceof MovedError) || attempt >= MAX_RESOURCE_MOVES) throw error;
        this.logger.info(
          { lockspace: ls.name, op: command.type },
          'resource lane stalled elsewhere: repeating the operation on a new lane',
        );
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  /** Counts resource operations in progress; an idle lockspace is detached from its lane. */
  begin(ls: Lockspace): void {
    const attachment = this.attachmentOf(ls.name);
    if (attachment.idleTimer !== undefined) clearTimeout(attachment.idleTimer);
    attachment.idleTimer = undefined;
    attachment.ops++;
  }

  end(ls: Lockspace): void {
    const attachment = this.attachmentOf(ls.name);
    attachment.ops = Math.max(0, attachment.ops - 1);
    if (attachment.ops > 0 || !this.lanes.isAttached(ls.name)) {
      if (attachment.ops === 0 && attachment.idleTimer === undefined) this.attachments.delete(ls.name);
      return;
    }
    if (attachment.idleTimer !== undefined) clearTimeout(attachment.idleTimer);
    attachment.idleTimer = setTimeout(() => {
      attachment.idleTimer = undefined;
      if (attachment.ops === 0) this.detach(ls, 'idle');
    }, RESOURCE_LANE_IDLE_MS);
    attachment.idleTimer.unref();
  }

  /** No more resource I/O for the lockspace on its lane (its slot is fenced). */
  detach(ls: Lockspace, reason: string): void {
    const attachment = this.attachments.get(ls.name);
    if (attachment?.idleTimer !== undefined) clearTimeout(attachment.idleTimer);
    if (attachment !== undefined && attachment.ops === 0) this.attachments.delete(ls.name);
    else if (attachment !== undefined) attachment.idleTimer = undefined;
    if (this.lanes.isAttached(ls.name)) this.lanes.leave(ls.name, reason);
    ls.markResourceMoved();
  }

  terminateAll(): void {
    for (const attachment of this.attachments.values())
      if (attachment.idleTimer !== undefined) clearTimeout(attachment.idleTimer);
    this.attachments.clear();
    this.lanes.terminateAll();
  }

  private attachmentOf(name: string): Attachment {
    let attachment = this.attachments.get(name);
    if (attachment === undefined) {
      attachment = { ops: 0, idleTimer: undefined };
      this.attachments.set(name, attachment);
    }
    return attachment;
  }

  /** The lockspace's resource lane, attached to our delta lease (host table, deadline) if new. */
  private attach(ls: Lockspace): ResourceLane {
    const { lane, slot, fresh } = this.lanes.place(ls.name);
    if (fresh) {
      const facts = ls.joinedFacts();
      lane.send({
        type: 'attach',
        lockspace: ls.name,
        slot,
        view: {
          config: ls.deltaConfig(facts.hostId, this.hostName),
          path: ls.path,
          geometry: facts.geometry,
          generation: facts.generation,
          lastRenewalSeconds: facts.lastRenewalSeconds,
          hosts: ls.hosts,
        },
      });
    }
    return lane;
  }
}
