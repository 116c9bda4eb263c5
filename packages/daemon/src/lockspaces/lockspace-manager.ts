/**
 * Lockspaces: start (lockstart, at boot, after a restart), stop (lockstop), renewal bookkeeping on
 * the main thread, and the response to a lost delta lease.
 *
 * The main thread keeps its own deadline for every joined lockspace (8 x io_timeout after the last
 * renewal its lane reported). It does not rely on the lane to say the lease is lost: a lane whose
 * device hangs sits in a syscall and says nothing at all.
 *
 * Invariant (checked before every join): a new generation of our host_id never starts while a
 * process of an older generation may still use a lease of that lockspace. After a restart, holders
 * recorded in state are adopted (when our delta lease can be resumed with the same generation) or
 * confirmed dead (killed if need be) first.
 */
import { assertNever, chooseHostId, MAX_LOCKSPACES, SLOT_TAKEN_CODES } from '@leasehold/host-core';
import { classifyError } from '@leasehold/errors';
import { idRenewalFailSeconds, type Logger } from '@leasehold/lease';
import type { HostIdMap } from '../config/host-id-conf.js';
import type { DaemonConfig } from '../config/daemon-config.js';
import { killCommandFor } from '../config/daemon-config.js';
import { isSameProcessAlive } from '../clients/proc.js';
import type { KillAction, KillVictim } from '../leases/kill-action.js';
import type { JoinedReply, RenewalNote, ResourceCommand, ResourceNote, SlotsReply } from '../lanes/lane-messages.js';
import { LaneFailure, type WithoutReqId } from '../lanes/lane.js';
import type { RenewalCommand } from '../lanes/lane-messages.js';
import { ResourceLanes, type ResourceLane } from '../lanes/lane-pool.js';
import { RenewalLanes, type RenewalLane } from '../lanes/renewal-lanes.js';
import { DaemonError, type WireError } from '@leasehold/protocol';
import type { LockspaceInfo, LockstartRequest, LockstopResult, ProgressInfo } from '@leasehold/protocol';
import type { StateDb, StoredLease } from '../state/state-db.js';
import { monotonicSeconds } from '../util/monotonic.js';
import { jsonSafe } from '../util/wire.js';
import type { WatchdogLink } from '../watchdog/watchdog-link.js';
import { pickHostIdAndJoin } from './host-id-picker.js';
import { Lockspace, MovedError } from './lockspace.js';
import type { LockspaceUsers } from './lockspace-users.js';

/** A resource lane with nothing to do is stopped after this long. */
export const RESOURCE_LANE_IDLE_MS = 60_000;
/** A release of our delta lease that has not completed after this many io_timeouts is abandoned. */
const LEAVE_TIMEOUT_IO_TIMEOUTS = 2;
/** How many times one resource operation may be moved off stalled lanes before it fails. */
const MAX_RESOURCE_MOVES = 3;

export interface LockspaceManagerDeps {
  config: DaemonConfig;
  hostName: string;
  db: StateDb;
  hostIds: HostIdMap;
  watchdog: WatchdogLink;
  kill: KillAction;
  logger: Logger;
}

interface Recovery {
  hostId: number;
  generation: bigint;
  stored: StoredLease[];
}

export class LockspaceManager {
  private readonly lockspaces = new Map<string, Lockspace>();
  private readonly renewal: RenewalLanes;
  private readonly resources: ResourceLanes;
  private users!: LockspaceUsers;
  private closing = false;

  constructor(private readonly deps: LockspaceManagerDeps) {
    this.renewal = new RenewalLanes(
      deps.logger,
      deps.config.testFaultDir,
      deps.config.logLevel,
      {
        onNote: (lane, note) => this.onRenewalNote(lane, note),
        onMoved: (names) => this.onMoved(names),
        onLaneExit: (names, error) => {
          for (const name of names) {
            const ls = this.lockspaces.get(name);
            if (ls !== undefined && ls.state === 'joined') {
              this.onLost(ls, 'LANE_FAILED', `the renewal lane of ${name} stopped${error ? `: ${error.message}` : ''}`);
            }
          }
        },
      },
      deps.config.lanes === 'per-device',
    );
    this.resources = new ResourceLanes(
      deps.logger,
      deps.config.testFaultDir,
      deps.config.logLevel,
      {
        onNote: (lane, note) => this.onResourceNote(lane, note),
        onMoved: (names) => {
          for (const name of names) this.lockspaces.get(name)?.markResourceMoved();
        },
      },
      deps.config.lanes === 'per-device',
    );
  }

  setUsers(users: LockspaceUsers): void {
    this.users = users;
  }

  get(name: string): Lockspace | undefined {
    return this.lockspaces.get(name);
  }

  list(): Lockspace[] {
    return [...this.lockspaces.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  info(ls: Lockspace): LockspaceInfo {
    return ls.info(this.users.countIn(ls.name));
  }

  /** The lockspace, if its delta lease is held and within its deadline; otherwise a coded error. */
  requireUsable(name: string): Lockspace {
    const ls = this.lockspaces.get(name);
    if (ls === undefined)
      throw new DaemonError('NO_LOCKSPACE', `lockspace ${name} is not started on this host (use lockstart)`);
    if (ls.usable) return ls;
    switch (ls.state) {
      case 'starting':
        throw new DaemonError('LOCKSPACE_STARTING', `lockspace ${name} is still starting; retry, or lockstart --wait`);
      case 'stopping':
        throw new DaemonError('LOCKSPACE_STOPPING', `lockspace ${name} is stopping`);
      case 'failed':
        throw new DaemonError(
          'NO_LOCKSPACE',
          `lockspace ${name} failed to start: ${ls.error?.message ?? 'unknown error'}`,
        );
      case 'joined':
      case 'lost':
        throw new DaemonError(
          'LOCKSPACE_LOST',
          `lockspace ${name} lost its lease: ${ls.error?.message ?? 'renewal deadline passed'}; lockstop it, then lockstart again`,
        );
      default:
        return assertNever(ls.state, 'lockspace state');
    }
  }

  // -------------------------------------------------------------------------------- lockstart

  async lockstart(request: LockstartRequest, onProgress?: (progress: ProgressInfo) => void): Promise<LockspaceInfo> {
    if (this.closing) throw new DaemonError('SHUTTING_DOWN', 'the daemon is shutting down');
    let ls = this.lockspaces.get(request.lockspace);
    if (ls !== undefined) {
      const same =
        ls.path === request.path &&
        ls.offsetBytes === request.offsetBytes &&
        (request.hostId === 'auto' || request.hostId === ls.hostId || request.hostId === ls.hostIdRequest);
      if (ls.state === 'failed' || (ls.state === 'lost' && same)) {
        this.forget(ls);
        ls = undefined;
      } else if (!same) {
        throw new DaemonError(
          'LOCKSPACE_EXISTS',
          `lockspace ${request.lockspace} is already ${ls.state} at ${ls.path}:${ls.offsetBytes} with host_id ${ls.hostId ?? ls.hostIdRequest}`,
        );
      } else if (ls.state === 'stopping') {
        throw new DaemonError(
          'LOCKSPACE_STOPPING',
          `lockspace ${request.lockspace} is stopping; wait for it, then start it again`,
        );
      }
    }
    if (ls === undefined) {
      if (this.lockspaces.size >= MAX_LOCKSPACES) {
        throw new DaemonError(
          'TOO_MANY_LOCKSPACES',
          `${this.lockspaces.size} lockspaces are started (limit ${MAX_LOCKSPACES}); lockstop one first`,
        );
      }
      ls = this.create(request.lockspace, request.path, request.offsetBytes, request.hostId);
      this.persist(ls);
      this.deps.db.addHistory('lockstart', {
        lockspace: ls.name,
        details: { path: ls.path, offsetBytes: ls.offsetBytes, hostId: request.hostId },
      });
      // Lease rows left by an earlier generation (a lockstop during a restart's start, then a crash):
      // their holders may still run, and are stopped before a new generation joins.
      const leftOver = this.deps.db.leases(ls.name).filter((lease) => lease.token !== '');
      void this.runStart(ls, leftOver.length > 0 ? { hostId: 0, generation: 0n, stored: leftOver } : undefined);
    }
    if (request.wait !== true) return this.info(ls);
    const unsubscribe = onProgress === undefined ? undefined : ls.onProgress(onProgress);
    try {
      await ls.started;
    } catch (error) {
      throw error instanceof DaemonError ? error : new DaemonError('INTERNAL', String(error));
    } finally {
      unsubscribe?.();
    }
    return this.info(ls);
  }

  private create(name: string, path: string, offsetBytes: number, hostIdRequest: number | 'auto'): Lockspace {
    const ls = new Lockspace(
      name,
      path,
      offsetBytes,
      hostIdRequest,
      this.deps.config.ioTimeoutSeconds,
      this.deps.config.watchdogFireTimeoutSeconds,
    );
    this.lockspaces.set(name, ls);
    return ls;
  }

  private persist(ls: Lockspace): void {
    this.deps.db.upsertLockspace({
      name: ls.name,
      path: ls.path,
      offsetBytes: ls.offsetBytes,
      hostIdRequest: ls.hostIdRequest,
      hostId: ls.hostId,
      generation: ls.generation,
      startAtBoot: true,
      state: ls.state,
    });
  }

  /** Starts every lockspace recorded in state: resuming (and adopting) where the lease is still ours. */
  recoverAll(sameBoot: boolean): void {
    for (const stored of this.deps.db.lockspaces()) {
      if (!stored.startAtBoot) continue;
      const leases = this.deps.db.leases(stored.name);
      const ls = this.create(stored.name, stored.path, stored.offsetBytes, stored.hostIdRequest);
      if (!sameBoot) {
        // After a reboot no process of the previous one survives, and our host_id's old generation
        // is long expired for the other hosts.
        if (leases.length > 0) this.deps.db.deleteLeasesOf(stored.name);
        void this.runStart(ls, undefined);
        continue;
      }
      const resumable = stored.state === 'joined' && stored.hostId !== null && stored.generation !== null;
      void this.runStart(
        ls,
        stored.state === 'joined' && stored.hostId !== null && stored.generation !== null
          ? { hostId: stored.hostId, generation: stored.generation, stored: leases }
          : { hostId: 0, generation: 0n, stored: leases },
      );
      this.deps.logger.info(
        { lockspace: stored.name, resumable, leases: leases.length },
        'restarting lockspace recorded in state',
      );
    }
  }

  private async runStart(ls: Lockspace, recovery: Recovery | undefined): Promise<void> {
    const { logger } = this.deps;
    ls.recordedLeases = recovery?.stored.filter((lease) => lease.token !== '').length ?? 0;
    try {
      // No lease without fencing: the watchdog must be able to reset this host before we join.
      await this.deps.watchdog.prepareLockspace(ls.name);
      let joined: JoinedReply | undefined;
      let oldHoldersChecked = false;
      for (;;) {
        try {
          if (recovery !== undefined && recovery.generation !== 0n) {
            joined = await this.tryResume(ls, recovery);
            if (joined === undefined) recovery = { ...recovery, generation: 0n };
          }
          if (joined === undefined) {
            if (!oldHoldersChecked && recovery !== undefined && recovery.stored.length > 0)
              await this.confirmOldHoldersDead(ls, recovery.stored);
            oldHoldersChecked = true;
            await this.waitForOldHolders(ls);
            joined = await this.join(ls);
          }
          break;
        } catch (error) {
          // The lane stalled on another device meanwhile: start again on the new lane (a join that
          // already wrote finds our own name there and takes the fast reacquire).
          if (!(error instanceof MovedError) || ls.state !== 'starting') throw error;
          logger.info({ lockspace: ls.name }, 'renewal lane stalled during the start: starting again on another lane');
        }
      }
      if (ls.state === 'starting') await this.registerWithWatchdog(ls, joined);
      if (ls.state !== 'starting') {
        // lockstop came while we were joining: give the lease straight back.
        await this.renewal
          .laneOf(ls.name)
          ?.call({ type: 'leave', lockspace: ls.name })
          .catch(() => undefined);
        this.deps.watchdog.lockspaceRemoved(ls.name);
        this.renewal.leave(ls.name);
        ls.markStartFailed(new DaemonError('LOCKSPACE_STOPPING', `lockspace ${ls.name} was stopped while starting`));
        return;
      }
      this.onJoined(ls, joined);
      if (recovery !== undefined && ls.hostIdSource === 'restored') this.users.adoptStored(ls, recovery.stored);
      ls.recordedLeases = 0;
      ls.markStarted();
    } catch (error) {
      const wire = wireErrorOf(error);
      logger.error({ lockspace: ls.name, code: wire.code }, `lockspace start failed: ${wire.message}`);
      this.renewal.leave(ls.name);
      if (ls.state === 'starting') {
        ls.becomeFailed(wire);
        this.persist(ls);
        this.deps.db.addHistory('lockstart_failed', { lockspace: ls.name, details: { ...wire } });
      }
      ls.markStartFailed(new DaemonError(wire.code, wire.message, wire.details));
    }
  }

  /** A command that needs the lockspace's slot, on its current renewal lane; MovedError if it moves meanwhile. */
  private callRenewal<T>(
    ls: Lockspace,
    command: DistributiveOmit<WithoutReqId<Extract<RenewalCommand, { slot: number }>>, 'slot'>,
  ): Promise<T> {
    const epoch = ls.laneEpoch;
    const { lane, slot } = this.renewal.place(ls.name, ls.path);
    const call = lane.call<T>({ ...command, slot } as WithoutReqId<Extract<RenewalCommand, { reqId: number }>>);
    return Promise.race([call, ls.whenMoved(epoch)]);
  }

  private async tryResume(ls: Lockspace, recovery: Recovery): Promise<JoinedReply | undefined> {
    ls.progress('resume', `resuming host_id ${recovery.hostId} generation ${recovery.generation}`);
    try {
      const joined = await this.callRenewal<JoinedReply>(ls, {
        type: 'resume',
        config: ls.deltaConfig(recovery.hostId, this.deps.hostName),
        path: ls.path,
        generation: recovery.generation,
        // Enough of the 8N window must be left to renew before the deadline.
        minimumRemainingSeconds: 2 * ls.ioTimeoutSeconds,
      });
      ls.hostIdSource = 'restored';
      return joined;
    } catch (error) {
      if (error instanceof MovedError) throw error;
      this.deps.logger.warn(
        { lockspace: ls.name, hostId: recovery.hostId, err: wireErrorOf(error) },
        'cannot resume the delta lease; joining again',
      );
      return undefined;
    }
  }

  /** Our old delta lease is gone: holders recorded in state must not outlive it. */
  private async confirmOldHoldersDead(ls: Lockspace, stored: StoredLease[]): Promise<void> {
    // The kill plan takes them over: a lockstop may now cancel the start (and drop persistent users).
    ls.recordedLeases = 0;
    const processes: KillVictim[] = [];
    const persistentResources: string[] = [];
    for (const lease of stored) {
      // An acquire that was still in progress was never granted to its requester: it uses nothing.
      if (lease.token === '') continue;
      if (lease.holder === 'persistent') persistentResources.push(lease.resource);
      else if (lease.pid !== null && lease.pidStartTime !== null && isSameProcessAlive(lease.pid, lease.pidStartTime)) {
        processes.push({ pid: lease.pid, startTime: lease.pidStartTime });
      }
    }
    if (processes.length > 0 || persistentResources.length > 0) {
      this.deps.logger.warn(
        { lockspace: ls.name, pids: processes.map((p) => p.pid), persistentResources },
        'old lease holders outlived our delta lease: stopping them before joining again',
      );
      this.deps.kill.start({
        lockspace: ls.name,
        processes,
        persistentResources,
        command: killCommandFor(this.deps.config, ls.name),
        graceSeconds: this.deps.config.killGraceSeconds,
      });
    }
    await this.waitForOldHolders(ls);
    this.deps.db.deleteLeasesOf(ls.name);
  }

  private async waitForOldHolders(ls: Lockspace): Promise<void> {
    const pending = this.deps.kill.pendingCount(ls.name);
    if (pending === 0) return;
    ls.progress('wait-old-holders', `waiting for ${pending} user(s) of the previous generation to stop`);
    await this.deps.kill.whenClean(ls.name);
  }

  private async join(ls: Lockspace): Promise<JoinedReply> {
    const { hostName, logger } = this.deps;
    const joinWith = (hostId: number, onlyIfFree: boolean, giveUpWhenRenewed = false): Promise<JoinedReply> => {
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
    // Which host_id first is the host core's rule (chooseHostId); only the lookups are done here.
    const configured = typeof ls.hostIdRequest === 'number' ? undefined : this.deps.hostIds.lookup(ls.name);
    const remembered =
      typeof ls.hostIdRequest === 'number' || configured !== undefined
        ? undefined
        : this.deps.db.rememberedHostId(ls.name, ls.path, ls.offsetBytes);
    let rememberedTaken = false;
    for (;;) {
      const choice = chooseHostId(ls.hostIdRequest, configured, remembered, rememberedTaken);
      ls.hostIdSource = choice.source;
      if (choice.kind === 'pick') break;
      if (choice.source !== 'remembered') return joinWith(choice.hostId, choice.onlyIfFree);
      try {
        return await joinWith(choice.hostId, choice.onlyIfFree);
      } catch (error) {
        if (error instanceof MovedError) throw error;
        if (!SLOT_TAKEN_CODES.has(wireErrorOf(error).code)) throw error;
        logger.warn(
          { lockspace: ls.name, hostId: choice.hostId },
          'remembered host_id is taken by another host; picking a new one',
        );
        this.deps.db.forgetHostId(ls.name, ls.path, ls.offsetBytes);
        rememberedTaken = true;
      }
    }
    ls.hostIdSource = 'picked';
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
        cancelled: () => ls.state !== 'starting',
      },
      hostName,
      logger,
    );
  }

  /**
   * No lease without fencing: the companion must hold the lockspace's deadline before anything may
   * use the lockspace (its state turns 'joined' only after this). When the companion does not
   * confirm, the delta lease is given back (nothing has used it) and the start fails.
   */
  private async registerWithWatchdog(ls: Lockspace, joined: JoinedReply): Promise<void> {
    const lastRenewalSeconds = Math.max(ls.lastRenewalSeconds ?? 0, joined.lastRenewalSeconds);
    try {
      await this.deps.watchdog.lockspaceAdded(ls.name, lastRenewalSeconds + idRenewalFailSeconds(ls.ioTimeoutSeconds));
    } catch (error) {
      await this.renewal
        .laneOf(ls.name)
        ?.call({ type: 'leave', lockspace: ls.name })
        .catch(() => undefined);
      this.deps.watchdog.lockspaceRemoved(ls.name);
      throw error;
    }
  }

  private onJoined(ls: Lockspace, joined: JoinedReply): void {
    ls.becomeJoined(joined);
    if (ls.hosts.length === 0) ls.hosts = joined.hosts;
    ls.armExpiry(() => this.onExpired(ls));
    // Registered with the companion already (registerWithWatchdog); renewals since move it on.
    this.deps.watchdog.lockspaceRenewed(ls.name, ls.joinedDeadlineSeconds());
    if (ls.hostIdRequest === 'auto' && ls.hostIdSource !== 'config') {
      this.deps.db.rememberHostId(ls.name, ls.path, ls.offsetBytes, joined.hostId);
    }
    this.persist(ls);
    this.deps.db.addHistory('joined', {
      lockspace: ls.name,
      details: { hostId: joined.hostId, generation: joined.generation, source: ls.hostIdSource },
    });
    this.deps.logger.info(
      {
        lockspace: ls.name,
        hostId: joined.hostId,
        generation: joined.generation.toString(),
        source: ls.hostIdSource,
        seconds: monotonicSeconds() - ls.startedAtSeconds,
      },
      'lockspace joined',
    );
    ls.progress('joined', `joined with host_id ${joined.hostId} generation ${joined.generation}`);
  }

  // --------------------------------------------------------------------------------- lockstop

  async lockstop(name: string, wait: boolean): Promise<LockstopResult> {
    const ls = this.lockspaces.get(name);
    if (ls === undefined) throw new DaemonError('NO_LOCKSPACE', `lockspace ${name} is not started on this host`);
    switch (ls.state) {
      case 'stopping':
        return { lockspace: name, state: 'stopping' };
      case 'failed':
      case 'lost':
        // An explicit stop of a lost lockspace is the admin saying its persistent users are stopped
        // (their rows go: a later start must not wait for them again).
        this.deps.kill.dropPersistent(name);
        for (const lease of this.deps.db.leases(name))
          if (lease.holder === 'persistent') this.deps.db.deleteLease(name, lease.resource, 'persistent');
        this.forget(ls);
        this.deps.db.deleteLockspace(name);
        this.deps.db.addHistory('lockstop', { lockspace: name, details: { from: ls.state } });
        return { lockspace: name, state: 'stopped' };
      case 'starting': {
        if (ls.recordedLeases > 0) {
          throw new DaemonError(
            'LOCKSPACE_BUSY',
            `lockspace ${name} is starting again with ${ls.recordedLeases} lease(s) recorded as held; release them once it is joined`,
          );
        }
        // A start may be waiting for the persistent users of an older generation: the admin's stop
        // says they are gone.
        this.deps.kill.dropPersistent(name);
        ls.cancelStart();
        this.renewal.laneOf(name)?.send({ type: 'cancel_join', lockspace: name });
        this.deps.db.deleteLockspace(name);
        const done = ls.started.catch(() => undefined).then(() => this.forget(ls));
        if (wait) await done;
        return { lockspace: name, state: wait ? 'stopped' : 'stopping' };
      }
      case 'joined': {
        const held = this.users.countIn(name);
        if (held > 0) {
          throw new DaemonError('LOCKSPACE_BUSY', `lockspace ${name} has ${held} lease(s) held; release them first`, {
            holders: this.users.holdersIn(name),
          });
        }
        ls.becomeStopping();
        const done = this.teardown(ls);
        if (wait) await done;
        return { lockspace: name, state: wait ? 'stopped' : 'stopping' };
      }
      default:
        return assertNever(ls.state, 'lockspace state');
    }
  }

  private async teardown(ls: Lockspace): Promise<void> {
    ls.clearExpiry();
    this.detachResource(ls, 'lockstop');
    // No lease is in use: the watchdog need not protect it any more, even if the release below hangs.
    this.deps.watchdog.lockspaceRemoved(ls.name);
    await this.leaveDeltaLease(ls);
    this.renewal.leave(ls.name);
    this.deps.db.deleteLockspace(ls.name);
    this.deps.db.addHistory('lockstop', { lockspace: ls.name });
    this.deps.logger.info({ lockspace: ls.name }, 'lockspace stopped');
    this.forget(ls);
  }

  /**
   * Releases our delta lease (one write). Bounded: on a device that hangs the write may never
   * return, and then the lease simply expires (the lane is fenced off it right after).
   */
  private async leaveDeltaLease(ls: Lockspace): Promise<void> {
    const lane = this.renewal.laneOf(ls.name);
    if (lane === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new DaemonError('TIMEOUT', 'the release of the delta lease did not complete')),
        LEAVE_TIMEOUT_IO_TIMEOUTS * ls.ioTimeoutSeconds * 1000,
      );
    });
    try {
      await Promise.race([lane.call({ type: 'leave', lockspace: ls.name }), ls.whenMoved(ls.laneEpoch), timeout]);
    } catch (error) {
      this.deps.logger.warn(
        { lockspace: ls.name, err: wireErrorOf(error) },
        'releasing the delta lease failed (it expires by itself)',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private forget(ls: Lockspace): void {
    ls.clearExpiry();
    this.detachResource(ls, 'forgotten');
    if (this.lockspaces.get(ls.name) === ls) this.lockspaces.delete(ls.name);
  }

  // ------------------------------------------------------------------------- renewals, loss

  private onRenewalNote(lane: RenewalLane, note: RenewalNote): void {
    if (note.type === 'log') return;
    const ls = this.lockspaces.get(note.lockspace);
    // Notes from a lane the lockspace was moved away from are stale.
    if (ls === undefined || this.renewal.laneOf(ls.name) !== lane) return;
    switch (note.type) {
      case 'renewed':
        if (ls.state !== 'joined' && ls.state !== 'starting') return;
        ls.lastRenewalSeconds = Math.max(ls.lastRenewalSeconds ?? 0, note.lastRenewalSeconds);
        ls.hosts = note.hosts;
        ls.recordRenewal({ startedSeconds: note.lastRenewalSeconds, durationMs: note.durationMs, ok: true });
        if (ls.state === 'joined') {
          ls.armExpiry(() => this.onExpired(ls));
          this.deps.watchdog.lockspaceRenewed(ls.name, ls.joinedDeadlineSeconds());
          this.resources.laneOf(ls.name)?.send({
            type: 'renewed',
            lockspace: ls.name,
            lastRenewalSeconds: note.lastRenewalSeconds,
            hosts: note.hosts,
          });
        }
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
        this.deps.logger.warn(
          { lockspace: ls.name, sinceSeconds: note.sinceSeconds },
          'no successful renewal for 6 x io_timeout',
        );
        return;
      case 'lost':
        if (ls.state === 'joined') this.onLost(ls, note.code, note.message);
        return;
      case 'event':
        ls.addEvent(note.event);
        return;
      case 'ping':
        if (ls.state === 'joined') this.users.onPings(ls.name, [note.fromHostId]);
        return;
      case 'progress':
        ls.progress(note.phase, note.message, note.expectedSeconds);
        return;
      default:
        assertNever(note, 'renewal note');
    }
  }

  private onExpired(ls: Lockspace): void {
    if (ls.state !== 'joined') return;
    const since = monotonicSeconds() - (ls.lastRenewalSeconds ?? ls.startedAtSeconds);
    this.onLost(
      ls,
      'LEASE_LOST',
      `no successful renewal for ${since.toFixed(1)} s (limit 8 x io_timeout = ${8 * ls.ioTimeoutSeconds} s)`,
    );
  }

  /**
   * The delta lease is lost: from now on nothing is written for it or its resource leases; the users
   * of its leases are stopped (kill action), and the watchdog link is told.
   */
  private onLost(ls: Lockspace, code: string, message: string): void {
    if (ls.state !== 'joined') return;
    const { logger, db } = this.deps;
    ls.becomeLost({ code, message });
    ls.clearExpiry();
    this.renewal.laneOf(ls.name)?.send({ type: 'abandon', lockspace: ls.name, reason: message });
    this.detachResource(ls, 'lease lost');
    this.deps.watchdog.lockspaceLost(ls.name);
    const users = this.users.dropForLoss(ls.name);
    logger.error(
      {
        lockspace: ls.name,
        code,
        pids: users.processes.map((p) => p.pid),
        persistentResources: users.persistentResources,
      },
      `LEASE LOST in lockspace ${ls.name}: ${message}; stopping every user of its leases`,
    );
    this.persist(ls);
    db.addHistory('lease_lost', {
      lockspace: ls.name,
      details: { code, message, pids: users.processes.map((p) => p.pid), persistent: users.persistentResources },
    });
    this.deps.kill.start({
      lockspace: ls.name,
      processes: users.processes,
      persistentResources: users.persistentResources,
      command: killCommandFor(this.deps.config, ls.name),
      graceSeconds: this.deps.config.killGraceSeconds,
    });
    this.renewal.leave(ls.name);
  }

  /**
   * These lockspaces were fenced off a lane that stalled on another device. Joined ones resume their
   * delta lease (same generation, from the disk) on a fresh lane; their deadline on this thread is
   * unchanged meanwhile. Starting ones start again there (runStart sees MovedError).
   */
  private onMoved(names: string[]): void {
    for (const name of names) {
      const ls = this.lockspaces.get(name);
      if (ls === undefined) continue;
      ls.markMoved();
      if (ls.state !== 'joined') continue;
      const facts = ls.joinedFacts();
      void this.callRenewal<JoinedReply>(ls, {
        type: 'resume',
        config: ls.deltaConfig(facts.hostId, this.deps.hostName),
        path: ls.path,
        generation: facts.generation,
        minimumRemainingSeconds: ls.ioTimeoutSeconds,
      }).then(
        (joined) => {
          if (ls.state !== 'joined') return;
          ls.lastRenewalSeconds = Math.max(ls.lastRenewalSeconds ?? 0, joined.lastRenewalSeconds);
          this.deps.logger.info({ lockspace: name }, 'lockspace moved to a new renewal lane');
        },
        (error: unknown) => {
          if (error instanceof MovedError) return;
          const wire = wireErrorOf(error);
          this.onLost(ls, wire.code, `could not move the lockspace off a stalled renewal lane: ${wire.message}`);
        },
      );
    }
  }

  /** The kill action finished: nobody uses the lost lockspace's leases. */
  onClean(name: string): void {
    this.deps.watchdog.lockspaceRemoved(name);
    this.deps.db.deleteLeasesOf(name);
  }

  // -------------------------------------------------------------------------- resource lanes

  /**
   * Runs one resource-lane command for the lockspace, attaching it to a lane first if needed. When
   * the lane stalls on another lockspace's device meanwhile, the lockspace is fenced off it and the
   * command starts again on a fresh lane (the old lane can no longer do I/O for it, and every
   * resource operation may be repeated from the start: a ballot that had already committed us finds
   * our own value). Aborting `signal` cancels the command in the lane.
   */
  async resourceCall<T>(
    ls: Lockspace,
    command: DistributiveOmit<WithoutReqId<Extract<ResourceCommand, { reqId: number }>>, 'lockspace'>,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (!ls.usable) throw this.notUsable(ls);
      const epoch = ls.resourceEpoch;
      const lane = this.attachResource(ls);
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
        const moved = ls.whenResourceMoved(epoch);
        try {
          return await Promise.race([call, moved.moved]);
        } finally {
          moved.forget();
        }
      } catch (error) {
        if (!(error instanceof MovedError) || attempt >= MAX_RESOURCE_MOVES) throw error;
        this.deps.logger.info(
          { lockspace: ls.name, op: command.type },
          'resource lane stalled elsewhere: repeating the operation on a new lane',
        );
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  private notUsable(ls: Lockspace): DaemonError {
    try {
      this.requireUsable(ls.name);
    } catch (error) {
      if (error instanceof DaemonError) return error;
    }
    return new DaemonError('LOCKSPACE_LOST', `lockspace ${ls.name} is not usable`);
  }

  /** The lockspace's resource lane, attached to our delta lease (host table, deadline) if new. */
  private attachResource(ls: Lockspace): ResourceLane {
    const { lane, slot, fresh } = this.resources.place(ls.name);
    if (fresh) {
      const facts = ls.joinedFacts();
      lane.send({
        type: 'attach',
        lockspace: ls.name,
        slot,
        view: {
          config: ls.deltaConfig(facts.hostId, this.deps.hostName),
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

  /** Counts resource operations in progress; an idle lockspace is detached from its lane. */
  beginResourceOp(ls: Lockspace): void {
    if (ls.resourceIdleTimer !== undefined) {
      clearTimeout(ls.resourceIdleTimer);
      ls.resourceIdleTimer = undefined;
    }
    ls.resourceOps++;
  }

  endResourceOp(ls: Lockspace): void {
    ls.resourceOps = Math.max(0, ls.resourceOps - 1);
    if (ls.resourceOps > 0 || !this.resources.isAttached(ls.name)) return;
    if (ls.resourceIdleTimer !== undefined) clearTimeout(ls.resourceIdleTimer);
    ls.resourceIdleTimer = setTimeout(() => {
      ls.resourceIdleTimer = undefined;
      if (ls.resourceOps === 0) this.detachResource(ls, 'idle');
    }, RESOURCE_LANE_IDLE_MS);
    ls.resourceIdleTimer.unref();
  }

  /** No more resource I/O for the lockspace on its lane (its slot is fenced). */
  private detachResource(ls: Lockspace, reason: string): void {
    if (ls.resourceIdleTimer !== undefined) clearTimeout(ls.resourceIdleTimer);
    ls.resourceIdleTimer = undefined;
    if (this.resources.isAttached(ls.name)) this.resources.leave(ls.name, reason);
    ls.markResourceMoved();
  }

  private onResourceNote(lane: ResourceLane, note: ResourceNote): void {
    if (note.type !== 'ping_host') return;
    const ls = this.lockspaces.get(note.lockspace);
    if (ls?.state === 'joined' && this.resources.laneOf(ls.name) === lane) {
      this.renewal.laneOf(ls.name)?.send({ type: 'ping_host', lockspace: ls.name, hostId: note.hostId });
    }
  }

  // ---------------------------------------------------------------------------- events, etc.

  async setEvent(
    name: string,
    hostId: number,
    event: bigint,
    data: bigint,
    generation: bigint,
    replace: boolean,
  ): Promise<void> {
    this.requireUsable(name);
    const lane = this.renewal.laneOf(name);
    if (lane === undefined) throw new DaemonError('LOCKSPACE_LOST', `lockspace ${name} has no renewal lane`);
    await lane.call({ type: 'set_event', lockspace: name, hostId, event, data, generation, replace });
  }

  laneCounts(): { renewal: number; resource: number } {
    return { ...this.renewal.counts(), resource: this.resources.count() };
  }

  /** Leaves every joined lockspace that holds no leases (clean shutdown). */
  async shutdown(): Promise<void> {
    this.closing = true;
    const stops = this.list().map(async (ls) => {
      if (ls.state === 'joined' && this.users.countIn(ls.name) === 0) {
        ls.becomeStopping();
        ls.clearExpiry();
        this.detachResource(ls, 'shutdown');
        this.deps.watchdog.lockspaceRemoved(ls.name);
        await this.leaveDeltaLease(ls);
        // Keep the row: it is started again at the next daemon start.
        this.deps.db.upsertLockspace({
          name: ls.name,
          path: ls.path,
          offsetBytes: ls.offsetBytes,
          hostIdRequest: ls.hostIdRequest,
          hostId: ls.hostId,
          generation: ls.generation,
          startAtBoot: true,
          state: 'stopped',
        });
      } else if (ls.state === 'starting') {
        ls.cancelStart();
        this.renewal.laneOf(ls.name)?.send({ type: 'cancel_join', lockspace: ls.name });
      }
    });
    await Promise.all(stops);
    for (const ls of this.list()) ls.clearExpiry();
    this.renewal.terminateAll();
    this.resources.terminateAll();
  }

  /** True when some lockspace holds leases (a clean shutdown would leave them unprotected). */
  hasLeases(): boolean {
    return this.list().some((ls) => this.users.countIn(ls.name) > 0);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function wireErrorOf(error: unknown): WireError {
  if (error instanceof LaneFailure)
    return {
      code: error.failure.code,
      message: error.failure.message,
      ...(error.failure.details ? { details: jsonSafe(error.failure.details) as Record<string, unknown> } : {}),
    };
  if (error instanceof DaemonError) return error.toWire();
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    return { code: (error as { code: string }).code, message: String((error as { message?: unknown }).message ?? '') };
  }
  return classifyError(error);
}
