/**
 * The invariants of a whole-host run, checked as it goes:
 * 1. no process uses a lease past its host's fencing deadline (8 x io_timeout + W after the last
 *    renewal of the generation it was granted under) unless the host was reset by then;
 * 2. no lease is used by two owners at once (exclusive with anything), across hosts: nothing is
 *    granted to another host before the holder is fenced;
 * 3. after a daemon restart that resumed the lockspace, the adopted leases are exactly those its
 *    clients hold (granted, not released) and that were recorded;
 * 4. a lockspace is never reported joined, and no lease granted, before the companion holds its
 *    registration;
 * 5. a finished lockstop leaves nothing: no lockspace, no lease, no persistent user waited for, no
 *    companion registration (unless a lost lockspace's processes are still being killed).
 * Lockstops of joined, lost and waiting lockspaces must also finish in bounded time (machine.ts).
 */
import { holderKey, type HostAction, type HostEvent, type LeaseMode, type Reply } from '@leasehold/host-core';
import { OwnershipTracker, describeOverlap } from '../checkers/ownership.js';
import type { SharedDisk } from '../shared-disk.js';
import { formatSeconds } from '../trace.js';
import type { SimWorld } from '../world.js';
import type { Machine } from './machine.js';
import { SPACE } from './machine.js';
import type { SimDaemon } from './sim-daemon.js';
import type { HostScenario } from './scenario.js';
import { PERSISTENT_RESOURCE } from './scenario.js';

export interface HostRunStats {
  grants: number;
  /** Conversions granted (the use switched mode). */
  conversions: number;
  /** Losses of the lockspace while some lease was held in it. */
  lossesWithLeases: number;
  losses: number;
  adoptedLeases: number;
  restoredJoins: number;
  lockstops: number;
  daemonRestarts: number;
  resets: number;
}

const EPSILON_SECONDS = 1e-6;

export class HostOracles {
  readonly tracker = new OwnershipTracker();
  readonly violations: string[] = [];
  readonly stats: HostRunStats = {
    grants: 0,
    conversions: 0,
    lossesWithLeases: 0,
    losses: 0,
    adoptedLeases: 0,
    restoredJoins: 0,
    lockstops: 0,
    daemonRestarts: 0,
    resets: 0,
  };
  /** Latest renewal (global seconds) per machine incarnation and generation. */
  private readonly lastRenewal = new Map<string, number>();
  private readonly resets = new Map<string, number>();

  constructor(
    readonly world: SimWorld,
    readonly scenario: HostScenario,
    readonly lockspaceDisk: SharedDisk,
    readonly leaseDisk: SharedDisk,
    readonly resourceOffsets: ReadonlyMap<string, number>,
  ) {}

  now(): number {
    return this.world.nowSeconds;
  }

  violation(text: string): void {
    this.violations.push(`${formatSeconds(this.now())} ${text}`);
  }

  renewed(machine: Machine, generation: bigint, lastRenewalGlobalSeconds: number): void {
    const key = `${machine.label}/${generation}`;
    this.lastRenewal.set(key, Math.max(this.lastRenewal.get(key) ?? -Infinity, lastRenewalGlobalSeconds));
  }

  reset(machine: Machine, atSeconds: number): void {
    this.stats.resets++;
    this.resets.set(machine.label, atSeconds);
  }

  /** The fencing deadline of `generation` on `machine` (global seconds). */
  private fenceAt(machine: Machine, generation: bigint): number {
    const renewal = this.lastRenewal.get(`${machine.label}/${generation}`) ?? -Infinity;
    return renewal + 8 * this.scenario.ioTimeoutSeconds + this.scenario.watchdogFireTimeoutSeconds;
  }

  beginUse(machine: Machine, owner: string, resource: string, mode: LeaseMode, generation: bigint): void {
    this.stats.grants++;
    this.use(machine, owner, resource, mode, generation);
  }

  private use(machine: Machine, owner: string, resource: string, mode: LeaseMode, generation: bigint): void {
    this.tracker.begin(resource, owner, mode === 'EX' ? 'exclusive' : 'shared', this.now(), Infinity);
    if (this.now() > this.fenceAt(machine, generation) + EPSILON_SECONDS)
      this.violation(`${owner} was granted ${resource} after its host's fencing deadline`);
  }

  /**
   * A conversion was granted: the use switches mode at once (an upgrade is checked like a grant: no
   * other owner may then use the resource at all).
   */
  convertUse(machine: Machine, owner: string, resource: string, mode: LeaseMode, generation: bigint): void {
    this.stats.conversions++;
    this.tracker.end(resource, owner, this.now(), 'converted');
    this.use(machine, owner, resource, mode, generation);
  }

  endUse(
    machine: Machine,
    owner: string,
    resource: string,
    reason: string,
    atSeconds: number,
    generation: bigint | undefined,
  ): void {
    this.tracker.end(resource, owner, atSeconds, reason);
    if (reason === 'reset' || generation === undefined) return;
    const fenceAt = this.fenceAt(machine, generation);
    if (atSeconds > fenceAt + EPSILON_SECONDS) {
      this.violation(
        `${owner} used ${resource} until ${formatSeconds(atSeconds)} (${reason}), past its host's fencing deadline ${formatSeconds(fenceAt)}, and the host was not reset`,
      );
    }
  }

  /** Invariant 1 for leases still in use at the end of the run. */
  finish(machines: Machine[]): void {
    const end = this.now();
    for (const machine of machines) {
      for (const client of machine.clients) {
        if (!client.alive) continue;
        for (const [resource, use] of client.using) {
          const fenceAt = this.fenceAt(machine, use.generation);
          if (end > fenceAt + EPSILON_SECONDS)
            this.violation(
              `${client.owner} still uses ${resource} at the end, past its host's fencing deadline ${formatSeconds(fenceAt)}, and the host was not reset`,
            );
        }
      }
    }
    this.tracker.finish(end);
    for (const overlap of this.tracker.overlaps()) this.violations.push(describeOverlap(overlap));
  }

  replied(machine: Machine, daemon: SimDaemon, reply: Reply): void {
    if (!reply.ok) return;
    const companion = machine.companion;
    const joinedReport = reply.value.kind === 'lockspace' && reply.value.state === 'joined';
    if ((joinedReport || reply.value.kind === 'lease') && companion !== undefined && !companion.registered(SPACE)) {
      this.violation(
        `${machine.label}: daemon ${daemon.epoch} reported ${joinedReport ? 'the lockspace joined' : `a lease of ${reply.value.kind === 'lease' ? reply.value.resource : ''} granted`} before the companion acknowledged the registration`,
      );
    }
  }

  stepped(machine: Machine, daemon: SimDaemon, event: HostEvent, actions: HostAction[]): void {
    if (event.type === 'state_loaded' && event.sameBoot) this.stats.daemonRestarts++;
    const ls = daemon.core.lockspace(SPACE);
    if (actions.some((action) => action.type === 'watchdog' && action.message.type === 'lost')) {
      this.stats.losses++;
      if (actions.some((action) => action.type === 'kill' && action.signal === 'term' && action.repeat !== true))
        this.stats.lossesWithLeases++;
    }
    if (
      event.type === 'companion_ack' &&
      event.step === 'add' &&
      ls?.state.kind === 'joined' &&
      ls.state.hostIdSource === 'restored'
    ) {
      this.stats.restoredJoins++;
      // After the whole drain (holders found dead are released within it).
      queueMicrotask(() => this.checkAdoption(machine, daemon));
    }
  }

  private checkAdoption(machine: Machine, daemon: SimDaemon): void {
    if (!daemon.isAlive) return;
    const adopted = daemon.core
      .leaseRecords()
      .filter((record) => record.lockspace === SPACE && record.state === 'held')
      .map((record) => `${record.resource}@${holderKey(record.holder)}`)
      .sort();
    const held: string[] = [];
    for (const client of machine.clients) {
      if (!client.alive) continue;
      for (const resource of client.granted.keys()) held.push(`${resource}@${holderKey(client.holder)}`);
    }
    if (machine.persistentGranted) held.push(`${PERSISTENT_RESOURCE}@persistent`);
    held.sort();
    this.stats.adoptedLeases += adopted.length;
    if (adopted.join(',') !== held.join(',')) {
      this.violation(
        `${machine.label}: daemon ${daemon.epoch} adopted [${adopted.join(', ')}] after its restart, but its clients hold [${held.join(', ')}]`,
      );
    }
  }

  lockstopped(machine: Machine, daemon: SimDaemon): void {
    this.stats.lockstops++;
    const core = daemon.core;
    if (core.lockspace(SPACE) !== undefined)
      this.violation(
        `${machine.label}: lockstop finished but the core still has the lockspace (${core.lockspace(SPACE)?.kind})`,
      );
    const leases = core.leaseRecords().filter((record) => record.lockspace === SPACE);
    if (leases.length > 0)
      this.violation(`${machine.label}: lockstop finished with ${leases.length} lease record(s) left`);
    if (core.killPending(SPACE).some((holder) => holder.kind === 'persistent'))
      this.violation(`${machine.label}: lockstop finished but the start still waits for persistent users`);
    // The companion hears of it within its message delay (for a lost lockspace whose users are
    // still being stopped, only once they are gone: that is the kill plan's end, not this).
    const context = machine.context;
    if (context === undefined || core.killPending(SPACE).length > 0) return;
    void context.clock.sleep(2 * this.scenario.companionLatencySeconds + 0.01).then(() => {
      if (!daemon.isAlive || machine.daemon !== daemon) return;
      const state = core.lockspace(SPACE)?.state;
      const restarted =
        state !== undefined &&
        !(state.kind === 'starting' && (state.phase === 'prepare' || state.phase === 'old-holders'));
      if (!restarted && core.killPending(SPACE).length === 0 && machine.companion?.registered(SPACE) === true) {
        this.violation(`${machine.label}: the companion still protects ${SPACE} after its lockstop`);
      }
    });
  }
}
