/**
 * One incarnation of the daemon on a simulated machine: the real host core, executed against the
 * real lease code (delta acquire, resume, renewal loop, Paxos through DeltaLeaseView) on the
 * machine's simulated disks. A daemon crash ends this object: its pending I/O never completes (the
 * process is gone), its answers are dropped; clients, the companion and the state database survive.
 */
import {
  acquireDeltaLease,
  acquireLease,
  convertLease,
  DeltaError,
  DeltaLeaseView,
  releaseLease,
  resumeDeltaLease,
  runRenewalLoop,
  type DeltaLeaseConfig,
  type HeldDeltaLease,
  type HeldLease,
  type PaxosContext,
} from '@leasehold/lease';
import type { Disk } from '@leasehold/disk';
import {
  HostCore,
  RESUME_MARGIN_IO_TIMEOUTS,
  assertNever,
  type HostAction,
  type HostEvent,
  type LaneCommand,
  type Reply,
  type RevertedFix,
} from '@leasehold/host-core';
import type { HostContext } from '../host.js';
import type { SharedDisk } from '../shared-disk.js';
import type { SimCompanion } from './sim-companion.js';
import type { SimStateDb } from './sim-state-db.js';

export interface DaemonSettings {
  spaceName: string;
  hostId: number;
  hostName: string;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  killGraceSeconds: number;
  revertedFix: RevertedFix | undefined;
  /** Resource name -> offset in the lease disk. */
  resourceOffsets: ReadonlyMap<string, number>;
}

/** What the daemon tells the world around it (clients, oracles). */
export interface DaemonSurroundings {
  lockspaceDisk: SharedDisk;
  leaseDisk: SharedDisk;
  companion: SimCompanion;
  db: SimStateDb;
  reply(daemon: SimDaemon, reply: Reply): void;
  kill(daemon: SimDaemon, action: Extract<HostAction, { type: 'kill' }>): void;
  /** True if the holder process is alive (the pidfd watch); false makes the daemon see it exit. */
  watchHolder(daemon: SimDaemon, pid: number): boolean;
  renewed(daemon: SimDaemon, generation: bigint, lastRenewalSeconds: number): void;
  stepped(daemon: SimDaemon, event: HostEvent, actions: HostAction[]): void;
}

interface Lane {
  lease: HeldDeltaLease | undefined;
  view: DeltaLeaseView | undefined;
  stop: AbortController;
  joinAbort: AbortController;
}

export class SimDaemon {
  readonly core: HostCore;
  private alive = true;
  private readonly queue: HostEvent[] = [];
  private draining = false;
  private readonly lanes = new Map<string, Lane>();
  private wakeAtSeconds: number | undefined;
  private readonly lockspaceDisk: Disk;
  private readonly leaseDisk: Disk;

  constructor(
    readonly context: HostContext,
    readonly epoch: number,
    private readonly settings: DaemonSettings,
    private readonly around: DaemonSurroundings,
  ) {
    this.core = new HostCore(context.clock, {
      ioTimeoutSeconds: settings.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: settings.watchdogFireTimeoutSeconds,
      killGraceSeconds: settings.killGraceSeconds,
      ...(settings.revertedFix === undefined ? {} : { revertedFix: settings.revertedFix }),
    });
    this.lockspaceDisk = this.processDisk(context.disk(around.lockspaceDisk));
    this.leaseDisk = this.processDisk(context.disk(around.leaseDisk));
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /** The process dies: nothing more is done or answered; I/O it had issued never returns to it. */
  crash(): void {
    this.alive = false;
    for (const lane of this.lanes.values()) {
      lane.stop.abort();
      lane.joinAbort.abort();
    }
    this.lanes.clear();
  }

  feed(event: HostEvent): void {
    if (!this.alive) return;
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        const actions = this.core.step(next);
        this.around.stepped(this, next, actions);
        for (const action of actions) this.execute(action);
      }
    } finally {
      this.draining = false;
    }
  }

  private execute(action: HostAction): void {
    switch (action.type) {
      case 'lane':
        this.laneCommand(action.command);
        return;
      case 'reply':
        this.around.reply(this, action.reply);
        return;
      case 'kill':
        this.around.kill(this, action);
        return;
      case 'watch_holder':
        if (action.holder.kind === 'process' && !this.around.watchHolder(this, action.holder.pid)) {
          this.feed({ type: 'client_exit', pid: action.holder.pid, startTime: action.holder.startTime });
        }
        return;
      case 'watchdog': {
        const { message } = action;
        this.around.companion.send(message, (ok) => {
          if (message.type === 'prepare' || message.type === 'add')
            this.feed({ type: 'companion_ack', name: message.name, step: message.type, ok });
        });
        return;
      }
      case 'state':
        this.around.db.apply(action.change);
        return;
      case 'wake':
        this.wake(action.atSeconds);
        return;
      case 'log':
        this.context.note(`[daemon ${this.epoch} ${action.level}] ${action.name}: ${action.message}`);
        return;
      default:
        assertNever(action, 'host action');
    }
  }

  private wake(atSeconds: number): void {
    if (this.wakeAtSeconds !== undefined && this.wakeAtSeconds <= atSeconds) return;
    this.wakeAtSeconds = atSeconds;
    const delay = Math.max(0, atSeconds - this.context.clock.nowSeconds());
    void this.context.clock.sleep(delay).then(() => {
      if (this.wakeAtSeconds !== atSeconds) return;
      this.wakeAtSeconds = undefined;
      this.feed({ type: 'expiry_tick' });
    });
  }

  private deltaConfig(hostId: number): DeltaLeaseConfig {
    const { settings } = this;
    return {
      spaceName: settings.spaceName,
      hostId,
      areaOffsetBytes: 0,
      hostName: settings.hostName,
      ioTimeoutSeconds: settings.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: settings.watchdogFireTimeoutSeconds,
    };
  }

  private laneCommand(command: LaneCommand): void {
    switch (command.type) {
      case 'join':
      case 'pick_and_join':
      case 'resume':
        this.join(command);
        return;
      case 'cancel_join': {
        // The core gets its answer at once (the daemon's lane may sit on a dead device); the join's
        // late result is dropped, and a delta lease it got is never renewed (it expires).
        const lane = this.lanes.get(command.name);
        if (lane === undefined || lane.lease !== undefined) return;
        lane.joinAbort.abort();
        // The reverted fix: the answer is the join's own, whenever the storage gives it.
        if (this.settings.revertedFix === 'lockstop-hung-join') return;
        this.lanes.delete(command.name);
        this.feed({
          type: 'join_result',
          name: command.name,
          result: { ok: false, error: { code: 'CANCELLED', message: 'the start was cancelled' } },
        });
        return;
      }
      case 'leave': {
        const lane = this.lanes.get(command.name);
        this.lanes.delete(command.name);
        if (lane === undefined) {
          this.feed({ type: 'leave_done', name: command.name });
          return;
        }
        lane.stop.abort();
        lane.view?.detach();
        const lease = lane.lease;
        if (lease === undefined || lease.lost) {
          this.feed({ type: 'leave_done', name: command.name });
          return;
        }
        void lease.release().then(
          () => this.feed({ type: 'leave_done', name: command.name }),
          () => this.feed({ type: 'leave_done', name: command.name }),
        );
        return;
      }
      case 'abandon': {
        const lane = this.lanes.get(command.name);
        this.lanes.delete(command.name);
        if (lane === undefined) return;
        lane.stop.abort();
        lane.view?.detach();
        lane.lease?.markLost(new DeltaError('LEASE_LOST', 'abandoned by the daemon'));
        return;
      }
      case 'acquire':
        this.acquire(command.lockspace, command.resource, command.mode);
        return;
      case 'convert':
        this.convert(command.lockspace, command.resource, command.mode, command.token);
        return;
      case 'release':
        this.release(command.lockspace, command.resource, command.token);
        return;
      case 'clean_intent':
        this.cleanIntent(command.lockspace, command.resource);
        return;
      default:
        assertNever(command, 'lane command');
    }
  }

  private join(command: Extract<LaneCommand, { type: 'join' | 'pick_and_join' | 'resume' }>): void {
    const name = command.name;
    const lane: Lane = {
      lease: undefined,
      view: undefined,
      stop: new AbortController(),
      joinAbort: new AbortController(),
    };
    this.lanes.set(name, lane);
    const { clock } = this.context;
    const hostId = command.type === 'pick_and_join' ? this.settings.hostId : command.hostId;
    const config = this.deltaConfig(hostId);
    const joining =
      command.type === 'resume'
        ? resumeDeltaLease(
            this.lockspaceDisk,
            clock,
            config,
            command.generation,
            RESUME_MARGIN_IO_TIMEOUTS * this.settings.ioTimeoutSeconds,
          )
        : acquireDeltaLease(this.lockspaceDisk, clock, config, { signal: lane.joinAbort.signal });
    joining.then(
      (lease) => {
        // Cancelled meanwhile: the core was answered already; nothing renews this lease.
        if (this.lanes.get(name) !== lane) return;
        lane.lease = lease;
        const view = new DeltaLeaseView(
          {
            config: lease.config,
            geometry: lease.geometry,
            generation: lease.generation,
            lastRenewalSeconds: lease.lastRenewalSeconds,
            hosts: lease.hosts(),
          },
          this.lockspaceDisk,
          clock,
          (target) => lease.pingHost(target),
        );
        lane.view = view;
        this.around.renewed(this, lease.generation, lease.lastRenewalSeconds);
        void runRenewalLoop(
          lease,
          clock,
          {
            onRenewed: () => {
              view.renewed(lease.lastRenewalSeconds, lease.hosts());
              this.around.renewed(this, lease.generation, lease.lastRenewalSeconds);
              this.feed({
                type: 'renewal_result',
                name,
                result: { ok: true, lastRenewalSeconds: lease.lastRenewalSeconds },
              });
            },
            onLost: (error) => {
              view.markLost(error);
              this.feed({
                type: 'renewal_result',
                name,
                result: { ok: false, error: { code: error.code, message: error.message } },
              });
            },
          },
          lane.stop.signal,
        );
        this.feed({
          type: 'join_result',
          name,
          result: {
            ok: true,
            facts: { hostId, generation: lease.generation, lastRenewalSeconds: lease.lastRenewalSeconds },
          },
        });
      },
      (error: unknown) => {
        // A cancelled join was answered already.
        if (this.lanes.get(name) !== lane) return;
        this.lanes.delete(name);
        this.feed({ type: 'join_result', name, result: { ok: false, error: errorOf(error) } });
      },
    );
  }

  private paxos(lockspace: string): { ctx: PaxosContext; view: DeltaLeaseView } | undefined {
    const view = this.lanes.get(lockspace)?.view;
    if (view === undefined) return undefined;
    return {
      ctx: { disk: view.fence(this.leaseDisk), clock: this.context.clock, random: this.context.random, delta: view },
      view,
    };
  }

  private location(resource: string): { spaceName: string; resourceName: string; offsetBytes: number } {
    const offsetBytes = this.settings.resourceOffsets.get(resource);
    if (offsetBytes === undefined) throw new Error(`unknown resource ${resource}`);
    return { spaceName: this.settings.spaceName, resourceName: resource, offsetBytes };
  }

  private acquire(lockspace: string, resource: string, mode: 'EX' | 'SH'): void {
    const paxos = this.paxos(lockspace);
    if (paxos === undefined) {
      this.feed({
        type: 'acquire_result',
        lockspace,
        resource,
        result: { ok: false, error: { code: 'NOT_JOINED', message: 'no lane' } },
      });
      return;
    }
    acquireLease(paxos.ctx, this.location(resource), {
      mode: mode === 'EX' ? 'exclusive' : 'shared',
      waitSeconds: 0,
    }).then(
      (held) =>
        this.feed({
          type: 'acquire_result',
          lockspace,
          resource,
          result: { ok: true, token: this.around.db.putToken(held) },
        }),
      (error: unknown) =>
        this.feed({ type: 'acquire_result', lockspace, resource, result: { ok: false, error: errorOf(error) } }),
    );
  }

  private convert(lockspace: string, resource: string, mode: 'EX' | 'SH', token: string): void {
    const paxos = this.paxos(lockspace);
    const held: HeldLease | undefined = this.around.db.token(token);
    if (paxos === undefined || held === undefined) {
      this.feed({
        type: 'convert_result',
        lockspace,
        resource,
        result: { ok: false, error: { code: 'NOT_JOINED', message: 'no lane' } },
      });
      return;
    }
    convertLease(paxos.ctx, held, mode === 'EX' ? 'exclusive' : 'shared', { waitSeconds: 0 }).then(
      (converted) =>
        this.feed({
          type: 'convert_result',
          lockspace,
          resource,
          result: { ok: true, token: this.around.db.putToken(converted), mode },
        }),
      (error: unknown) =>
        this.feed({ type: 'convert_result', lockspace, resource, result: { ok: false, error: errorOf(error) } }),
    );
  }

  private release(lockspace: string, resource: string, token: string): void {
    const paxos = this.paxos(lockspace);
    const held: HeldLease | undefined = this.around.db.token(token);
    if (paxos === undefined || held === undefined) {
      this.feed({ type: 'release_result', lockspace, resource });
      return;
    }
    releaseLease(paxos.ctx, held).then(
      () => this.feed({ type: 'release_result', lockspace, resource }),
      () => this.feed({ type: 'release_result', lockspace, resource }),
    );
  }

  private cleanIntent(lockspace: string, resource: string): void {
    const done = (): void => this.feed({ type: 'clean_done', lockspace, resource });
    const paxos = this.paxos(lockspace);
    if (paxos === undefined) {
      done();
      return;
    }
    void acquireLease(paxos.ctx, this.location(resource), { mode: 'exclusive', waitSeconds: 0 })
      .then((held) => releaseLease(paxos.ctx, held))
      .catch(() => undefined)
      .then(done);
  }

  /** The machine's disk as this process sees it: once the process is dead, its I/O never returns. */
  private processDisk(disk: Disk): Disk {
    const gate = <T>(work: () => Promise<T>): Promise<T> => {
      if (!this.alive) return new Promise<T>(() => undefined);
      return work().then((value) => (this.alive ? value : new Promise<T>(() => undefined)));
    };
    return {
      get path() {
        return disk.path;
      },
      get sectorSize() {
        return disk.sectorSize;
      },
      get sizeBytes() {
        return disk.sizeBytes;
      },
      read: (offsetBytes, lengthBytes) => gate(() => disk.read(offsetBytes, lengthBytes)),
      write: (offsetBytes, data) => gate(() => disk.write(offsetBytes, data)),
      close: () => Promise.resolve(),
    };
  }
}

function errorOf(error: unknown): { code: string; message: string } {
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    return { code: (error as { code: string }).code, message: String((error as { message?: unknown }).message ?? '') };
  }
  return { code: 'INTERNAL', message: String(error) };
}
