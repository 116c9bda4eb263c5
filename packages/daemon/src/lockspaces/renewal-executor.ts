/**
 * The host core's lifecycle lane commands, executed on the renewal lanes (worker threads): join,
 * pick_and_join, resume, cancel_join, leave, abandon; and what the lanes say (renewals, loss, pings,
 * events, progress), turned into the core's events. I/O only: the decisions are the core's.
 *
 * Two things are this layer's own, because they are about threads, not leases: a lockspace fenced
 * off a lane that stalled on another device is moved (a join in flight repeated on a new lane, a
 * joined lockspace resumed there), and cancel_join is answered at once, since a join on a dead
 * device sits in a syscall for as long as the device is dead.
 */
import {
  assertNever,
  RESUME_MARGIN_IO_TIMEOUTS,
  type HostEvent,
  type LaneCommand,
  type LockspaceStateKind,
} from '@leasehold/host-core';
import type { DeltaEvent, HostStatus, Logger } from '@leasehold/lease';
import type { DaemonConfig } from '../config/daemon-config.js';
import type { JoinedReply, RenewalCommand, RenewalNote, SlotsReply } from '../lanes/lane-messages.js';
import type { WithoutReqId } from '../lanes/lane.js';
import { RenewalLanes, type RenewalLane } from '../lanes/renewal-lanes.js';
import { pickHostIdAndJoin } from './host-id-picker.js';
import { MovedError, type Lockspace } from './lockspace.js';
import { wireErrorOf } from './wire-error.js';
import type { DistributiveOmit } from './resource-attachments.js';

export type LifecycleLaneCommand = Extract<
  LaneCommand,
  { type: 'join' | 'pick_and_join' | 'resume' | 'cancel_join' | 'leave' | 'abandon' }
>;

/** What the executor needs from the shell around it. */
export interface RenewalPort {
  /** An event for the host core. */
  feed(event: HostEvent): void;
  view(name: string): Lockspace | undefined;
  kindOf(name: string): LockspaceStateKind | undefined;
  detachResources(ls: Lockspace, reason: string): void;
  /** A renewal of a joined lockspace: its resource lane follows our deadline and host table. */
  renewed(ls: Lockspace, lastRenewalSeconds: number, hosts: HostStatus[]): void;
  pinged(name: string, fromHostIds: number[]): void;
  /** A delta-lease event for us arrived in a joined lockspace. */
  evented(name: string, event: DeltaEvent): void;
}

/** A join, pick or resume in flight on a renewal lane (one per lockspace). */
interface PendingJoin {
  token: number;
  command: Extract<LaneCommand, { type: 'join' | 'pick_and_join' | 'resume' }>;
}

export class RenewalExecutor {
  private readonly lanes: RenewalLanes;
  private readonly joins = new Map<string, PendingJoin>();
  private readonly leaves = new Map<string, number>();
  private nextToken = 1;

  constructor(
    config: DaemonConfig,
    private readonly hostName: string,
    private readonly logger: Logger,
    private readonly port: RenewalPort,
  ) {
    this.lanes = new RenewalLanes(
      logger,
      config.testFaultDir,
      config.logLevel,
      {
        onNote: (lane, note) => this.onRenewalNote(lane, note),
        onMoved: (names) => this.onMoved(names),
        onLaneExit: (names, error) => {
          for (const name of names) {
            if (port.kindOf(name) !== 'joined') continue;
            port.feed({
              type: 'renewal_result',
              name,
              result: {
                ok: false,
                error: {
                  code: 'LANE_FAILED',
                  message: `the renewal lane of ${name} stopped${error ? `: ${error.message}` : ''}`,
                },
              },
            });
          }
        },
      },
      config.lanes === 'per-device',
    );
  }

  laneOf(name: string): RenewalLane | undefined {
    return this.lanes.laneOf(name);
  }

  count(): number {
    return this.lanes.counts().renewal;
  }

  terminateAll(): void {
    this.lanes.terminateAll();
  }

  execute(command: LifecycleLaneCommand): void {
    switch (command.type) {
      case 'join':
      case 'pick_and_join':
      case 'resume':
        this.startJoin(command);
        return;
      case 'cancel_join':
        this.cancelJoin(command.name);
        return;
      case 'leave':
        this.leave(command.name);
        return;
      case 'abandon':
        this.abandon(command.name);
        return;
      default:
        assertNever(command, 'lane command');
    }
  }

  private startJoin(command: PendingJoin['command']): void {
    const name = command.name;
    const ls = this.port.view(name);
    if (ls === undefined) return;
    const pending: PendingJoin = { token: this.nextToken++, command };
    this.joins.set(name, pending);
    const current = (): boolean => this.joins.get(name) === pending;
    const lane = (): RenewalLane | undefined => this.lanes.laneOf(name);
    let work: Promise<JoinedReply>;
    try {
      work = this.joinWork(ls, command, current);
    } catch (error) {
      work = Promise.reject(error);
    }
    const usedLane = lane();
    work.then(
      (joined) => {
        if (!current()) {
          this.staleJoinSettled(name, usedLane, true);
          return;
        }
        this.joins.delete(name);
        ls.geometry = joined.geometry;
        if (ls.hosts.length === 0) ls.hosts = joined.hosts;
        this.port.feed({
          type: 'join_result',
          name,
          result: {
            ok: true,
            facts: {
              hostId: joined.hostId,
              generation: joined.generation,
              lastRenewalSeconds: joined.lastRenewalSeconds,
            },
          },
        });
      },
      (error: unknown) => {
        if (!current()) {
          this.staleJoinSettled(name, usedLane, false);
          return;
        }
        if (error instanceof MovedError) {
          // The lane stalled on another device meanwhile: the same command again on a new lane (a
          // join that already wrote finds our own name there and takes the fast reacquire).
          this.logger.info(
            { lockspace: name },
            'renewal lane stalled during the start: starting again on another lane',
          );
          this.startJoin(command);
          return;
        }
        this.joins.delete(name);
        const wire = wireErrorOf(error);
        if (command.type === 'resume')
          this.logger.warn(
            { lockspace: name, hostId: command.hostId, err: wire },
            'cannot resume the delta lease; joining again',
          );
        this.lanes.leave(name);
        this.port.feed({
          type: 'join_result',
          name,
          result: { ok: false, error: { code: wire.code, message: wire.message } },
        });
      },
    );
  }

  private joinWork(ls: Lockspace, command: PendingJoin['command'], current: () => boolean): Promise<JoinedReply> {
    const { hostName, logger } = this;
    const joinWith = (hostId: number, onlyIfFree: boolean, giveUpWhenRenewed: boolean): Promise<JoinedReply> => {
      ls.hostId = hostId;
      ls.progress('acquire-host-id', `acquiring host_id ${hostId}`, 2 * ls.ioTimeoutSeconds);
      return this.callRenewal<JoinedReply>(ls, {
        type: 'join',
        config: ls.deltaConfig(hostId, hostName),
        path: ls.path,
        onlyIfFree,
        giveUpWhenRenewed,
      });
    };
    switch (command.type) {
      case 'resume':
        ls.progress('resume', `resuming host_id ${command.hostId} generation ${command.generation}`);
        return this.callRenewal<JoinedReply>(ls, {
          type: 'resume',
          config: ls.deltaConfig(command.hostId, hostName),
          path: ls.path,
          generation: command.generation,
          // Enough of the 8N window must be left to renew before the deadline.
          minimumRemainingSeconds: RESUME_MARGIN_IO_TIMEOUTS * ls.ioTimeoutSeconds,
        });
      case 'join':
        return joinWith(command.hostId, command.onlyIfFree, false);
      case 'pick_and_join':
        ls.progress('pick-host-id', 'choosing a free host_id');
        return pickHostIdAndJoin(
          {
            readSlots: () =>
              this.callRenewal<SlotsReply>(ls, {
                type: 'read_slots',
                lockspace: ls.name,
                path: ls.path,
                offsetBytes: ls.offsetBytes,
              }),
            // auto: a held slot is waited on only while its owner is silent, never once it is seen renewing.
            join: (hostId, onlyIfFree) => joinWith(hostId, onlyIfFree, true),
            progress: (message) => ls.progress('pick-host-id', message),
            cancelled: () => !current(),
          },
          hostName,
          logger,
        );
      default:
        return assertNever(command, 'join command');
    }
  }

  /**
   * lockstop (or shutdown) during a join: the lane is told to stop it, and the core gets its answer
   * now. A join on a dead device sits in a syscall and could answer never; its late result is
   * dropped (staleJoinSettled), and its slot stays fenced to it until then.
   */
  private cancelJoin(name: string): void {
    const pending = this.joins.get(name);
    if (pending === undefined) return;
    this.joins.delete(name);
    this.lanes.laneOf(name)?.send({ type: 'cancel_join', lockspace: name });
    this.port.feed({
      type: 'join_result',
      name,
      result: { ok: false, error: { code: 'CANCELLED', message: `the start of lockspace ${name} was cancelled` } },
    });
  }

  /** A join the core no longer waits for has ended: what it got is given up, its slot freed. */
  private staleJoinSettled(name: string, lane: RenewalLane | undefined, joined: boolean): void {
    this.logger.info({ lockspace: name, joined }, 'the join of a cancelled start has ended: its result is given up');
    // A new start of the lockspace owns the slot now: leave it alone.
    if (this.joins.has(name) || this.port.kindOf(name) === 'joined') return;
    if (joined) lane?.send({ type: 'abandon', lockspace: name, reason: 'the start was cancelled' });
    if (this.lanes.laneOf(name) === lane) this.lanes.leave(name);
  }

  /** Gives our delta lease back; the core bounds the wait (then abandons) and ignores a late answer. */
  private leave(name: string): void {
    const ls = this.port.view(name);
    if (ls !== undefined) this.port.detachResources(ls, 'lockstop');
    const lane = this.lanes.laneOf(name);
    if (lane === undefined || ls === undefined) {
      this.lanes.leave(name);
      this.port.feed({ type: 'leave_done', name });
      return;
    }
    const token = this.nextToken++;
    this.leaves.set(name, token);
    Promise.race([lane.call({ type: 'leave', lockspace: name }), ls.whenMoved(ls.laneEpoch)])
      .catch((error: unknown) =>
        this.logger.warn(
          { lockspace: name, err: wireErrorOf(error) },
          'releasing the delta lease failed (it expires by itself)',
        ),
      )
      .finally(() => {
        if (this.leaves.get(name) !== token) return;
        this.leaves.delete(name);
        this.lanes.leave(name);
        this.port.feed({ type: 'leave_done', name });
      });
  }

  /** Nothing more is written for the lockspace (lost, or a leave that did not complete in time). */
  private abandon(name: string): void {
    this.leaves.delete(name);
    const ls = this.port.view(name);
    if (ls !== undefined) this.port.detachResources(ls, ls.core.kind === 'lost' ? 'lease lost' : 'abandoned');
    const reason = ls?.core.state.kind === 'lost' ? ls.core.state.error.message : 'the daemon gave the lease up';
    this.lanes.laneOf(name)?.send({ type: 'abandon', lockspace: name, reason });
    this.lanes.leave(name);
  }

  /** A command that needs the lockspace's slot, on its current renewal lane; MovedError if it moves meanwhile. */
  private callRenewal<T>(
    ls: Lockspace,
    command: DistributiveOmit<WithoutReqId<Extract<RenewalCommand, { slot: number }>>, 'slot'>,
  ): Promise<T> {
    const epoch = ls.laneEpoch;
    const { lane, slot } = this.lanes.place(ls.name, ls.path);
    const call = lane.call<T>({ ...command, slot } as WithoutReqId<Extract<RenewalCommand, { reqId: number }>>);
    return Promise.race([call, ls.whenMoved(epoch)]);
  }

  // ------------------------------------------------------------------------- lane notifications

  private onRenewalNote(lane: RenewalLane, note: RenewalNote): void {
    if (note.type === 'log') return;
    const ls = this.port.view(note.lockspace);
    // Notes from a lane the lockspace was moved away from are stale.
    if (ls === undefined || this.lanes.laneOf(ls.name) !== lane) return;
    switch (note.type) {
      case 'renewed':
        if (ls.state !== 'joined' && ls.state !== 'starting') return;
        ls.hosts = note.hosts;
        ls.recordRenewal({ startedSeconds: note.lastRenewalSeconds, durationMs: note.durationMs, ok: true });
        this.port.feed({
          type: 'renewal_result',
          name: ls.name,
          result: { ok: true, lastRenewalSeconds: note.lastRenewalSeconds },
        });
        if (ls.state === 'joined') this.port.renewed(ls, note.lastRenewalSeconds, note.hosts);
        return;
      case 'renewal_error':
        ls.recordRenewal({
          startedSeconds: note.atSeconds,
          durationMs: 0,
          ok: false,
          code: note.code,
          message: note.message,
        });
        return;
      case 'renewal_warn':
        this.logger.warn(
          { lockspace: ls.name, sinceSeconds: note.sinceSeconds },
          'no successful renewal for 6 x io_timeout',
        );
        return;
      case 'lost':
        this.port.feed({
          type: 'renewal_result',
          name: ls.name,
          result: { ok: false, error: { code: note.code, message: note.message } },
        });
        return;
      case 'event':
        ls.addEvent(note.event);
        if (ls.state === 'joined') this.port.evented(ls.name, note.event);
        return;
      case 'ping':
        if (ls.state === 'joined') this.port.pinged(ls.name, [note.fromHostId]);
        return;
      case 'progress':
        ls.progress(note.phase, note.message, note.expectedSeconds);
        return;
      default:
        assertNever(note, 'renewal note');
    }
  }

  /**
   * These lockspaces were fenced off a lane that stalled on another device. Joined ones resume their
   * delta lease (same generation, from the disk) on a fresh lane; the core's deadline is unchanged
   * meanwhile. A join in flight starts again there (startJoin sees MovedError).
   */
  private onMoved(names: string[]): void {
    for (const name of names) {
      const ls = this.port.view(name);
      if (ls === undefined) continue;
      ls.markMoved();
      if (ls.core.kind !== 'joined') continue;
      const facts = ls.joinedFacts();
      void this.callRenewal<JoinedReply>(ls, {
        type: 'resume',
        config: ls.deltaConfig(facts.hostId, this.hostName),
        path: ls.path,
        generation: facts.generation,
        minimumRemainingSeconds: ls.ioTimeoutSeconds,
      }).then(
        (joined) => {
          if (this.port.view(name) !== ls) return;
          this.port.feed({
            type: 'renewal_result',
            name,
            result: { ok: true, lastRenewalSeconds: joined.lastRenewalSeconds },
          });
          this.logger.info({ lockspace: name }, 'lockspace moved to a new renewal lane');
        },
        (error: unknown) => {
          if (error instanceof MovedError || this.port.view(name) !== ls) return;
          const wire = wireErrorOf(error);
          this.port.feed({
            type: 'renewal_result',
            name,
            result: {
              ok: false,
              error: {
                code: wire.code,
                message: `could not move the lockspace off a stalled renewal lane: ${wire.message}`,
              },
            },
          });
        },
      );
    }
  }
}
