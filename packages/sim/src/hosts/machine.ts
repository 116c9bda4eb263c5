/**
 * One simulated machine across its boots: the companion and clients of the current boot, the
 * daemon incarnation of the moment, and its state database (which survives everything). Requests
 * from clients and the operator go to the current daemon; when it dies they fail DAEMON_GONE and
 * are sent again once it is back, as a client library reconnecting would.
 */
import {
  LEAVE_TIMEOUT_IO_TIMEOUTS,
  type Holder,
  type HostAction,
  type HostEvent,
  type LeaseMode,
  type Reply,
} from '@leasehold/host-core';
import type { HostContext, SimHost } from '../host.js';
import { SimCompanion } from './sim-companion.js';
import { SimDaemon, type DaemonSettings } from './sim-daemon.js';
import { SimStateDb } from './sim-state-db.js';
import type { ClientOp, ClientPlan, HostScenario, MachinePlan } from './scenario.js';
import { PERSISTENT_RESOURCE } from './scenario.js';
import type { HostOracles } from './oracles.js';

export const SPACE = 'hostsim';
/** Clients and the operator try again this long after a refusal or while the daemon is down. */
const RETRY_SECONDS = 0.5;
/** An obedient process exits this long after SIGTERM; the kill command stops persistent users in this long. */
const TERM_EXIT_SECONDS = 0.1;
const KILL_COMMAND_SECONDS = 0.5;
/** The operator looks at the lockspace this often. */
const OPERATOR_PERIOD_SECONDS = 1;

type Request =
  | { type: 'lockstart' }
  | { type: 'lockstop' }
  | { type: 'acquire'; resource: string; mode: LeaseMode; holder: Holder }
  | { type: 'convert'; resource: string; mode: LeaseMode; holder: Holder }
  | { type: 'release'; resource: string; holder: Holder };

/** Refusals a client library waits out (and sends the request again). */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['DAEMON_GONE', 'LOCKSPACE_STARTING']);

const DAEMON_GONE: Reply = { reqId: 0, ok: false, error: { code: 'DAEMON_GONE', message: 'the daemon died' } };

export class SimClient {
  alive = true;
  /** Granted and not (acknowledged as) released: what the daemon must hold for this client. */
  readonly granted = new Map<string, { generation: bigint }>();
  /** Leases in use right now (the ownership oracle's intervals are open). */
  readonly using = new Map<string, { generation: bigint }>();

  constructor(
    readonly machine: Machine,
    readonly pid: number,
    readonly plan: ClientPlan,
  ) {}

  get holder(): Holder {
    return { kind: 'process', pid: this.pid, startTime: BigInt(this.machine.boot) };
  }

  get owner(): string {
    return `${this.machine.label}:pid${this.pid}`;
  }
}

export class Machine {
  readonly db = new SimStateDb();
  boot = 0;
  context: HostContext | undefined;
  companion: SimCompanion | undefined;
  daemon: SimDaemon | undefined;
  clients: SimClient[] = [];
  private daemonEpoch = 0;
  private nextReqId = 1;
  private nextPid = 100;
  private readonly pending = new Map<number, { daemon: SimDaemon; resolve: (reply: Reply) => void }>();
  /** The operator wants the lockspace started. */
  wantStarted = true;
  persistentGranted = false;
  persistentInUse = false;
  /** Watchdog resets of this machine so far, and when the last one happened (global seconds). */
  resets = 0;
  lastResetAtSeconds = -Infinity;

  constructor(
    readonly host: SimHost,
    readonly plan: MachinePlan,
    readonly scenario: HostScenario,
    readonly oracles: HostOracles,
  ) {}

  get label(): string {
    return this.host.label;
  }

  get clock(): HostContext['clock'] {
    if (this.context === undefined) throw new Error(`${this.plan.machine} has not booted`);
    return this.context.clock;
  }

  /** A boot: the companion, the daemon (with the state of before), the operator and the clients. */
  program(): (context: HostContext) => Promise<void> {
    return async (context) => {
      this.boot = context.incarnation;
      this.context = context;
      this.companion = new SimCompanion(context, () =>
        context.random.uniform(0.01, this.scenario.companionLatencySeconds),
      );
      this.clients = [];
      this.persistentGranted = false;
      this.persistentInUse = false;
      this.startDaemon(this.boot > 1 ? 'reboot' : 'first');
      void this.operator(context);
      for (const plan of this.plan.clients) {
        const client = new SimClient(this, this.nextPid++, plan);
        this.clients.push(client);
        void this.runClient(context, client);
      }
      if (this.plan.persistent !== undefined && this.boot === 1)
        void this.runPersistent(context, this.plan.persistent.atSeconds, this.plan.persistent.holdSeconds);
      // The machine runs until it is reset: a program that returned would stop its deliveries.
      await context.clock.sleep(1e9);
    };
  }

  startDaemon(why: 'first' | 'reboot' | 'restart'): void {
    const context = this.context;
    const companion = this.companion;
    if (context === undefined || companion === undefined) return;
    // One daemon per machine (its pid file): a restart that finds one running does nothing.
    if (this.daemon?.isAlive) return;
    const settings: DaemonSettings = {
      spaceName: SPACE,
      hostId: this.plan.hostId,
      hostName: `${this.plan.machine}.${this.boot}`,
      ioTimeoutSeconds: this.scenario.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: this.scenario.watchdogFireTimeoutSeconds,
      killGraceSeconds: this.scenario.killGraceSeconds,
      revertedFix: this.scenario.revertedFix,
      resourceOffsets: this.oracles.resourceOffsets,
    };
    const daemon = new SimDaemon(context, ++this.daemonEpoch, settings, {
      lockspaceDisk: this.oracles.lockspaceDisk,
      leaseDisk: this.oracles.leaseDisk,
      companion,
      db: this.db,
      reply: (from, reply) => this.onReply(from, reply),
      kill: (from, action) => this.onKill(from, action),
      watchHolder: (_from, pid) => this.clients.some((client) => client.pid === pid && client.alive),
      renewed: (_from, generation, lastRenewalSeconds) =>
        this.oracles.renewed(this, generation, context.clock.toGlobalSeconds(lastRenewalSeconds)),
      stepped: (from, event, actions) => this.oracles.stepped(this, from, event, actions),
    });
    this.daemon = daemon;
    context.note(`daemon ${daemon.epoch} starts (${why})`);
    daemon.feed({
      type: 'state_loaded',
      lockspaces: this.db.lockspaceRows(),
      leases: this.db.leaseRows(),
      sameBoot: why === 'restart',
    });
  }

  crashDaemon(): void {
    const daemon = this.daemon;
    if (daemon === undefined || !daemon.isAlive) return;
    daemon.crash();
    this.context?.note(`daemon ${daemon.epoch} crashed`);
    for (const [reqId, entry] of this.pending) {
      if (entry.daemon !== daemon) continue;
      this.pending.delete(reqId);
      entry.resolve(DAEMON_GONE);
    }
  }

  /** The machine lost power or was reset: every process on it is gone. */
  onReset(atSeconds: number): void {
    this.crashDaemon();
    for (const client of this.clients) this.exitClient(client, 'reset', atSeconds);
    if (this.persistentInUse) {
      this.persistentInUse = false;
      this.oracles.endUse(this, 'persistent', PERSISTENT_RESOURCE, 'reset', atSeconds, undefined);
    }
    this.persistentGranted = false;
  }

  /** One request to the daemon; DAEMON_GONE when there is none or it dies before answering. */
  request(request: Request): Promise<Reply> {
    const daemon = this.daemon;
    if (daemon === undefined || !daemon.isAlive) return Promise.resolve(DAEMON_GONE);
    const reqId = this.nextReqId++;
    const answered = new Promise<Reply>((resolve) => this.pending.set(reqId, { daemon, resolve }));
    daemon.feed(this.eventOf(reqId, request));
    return answered;
  }

  private eventOf(reqId: number, request: Request): HostEvent {
    switch (request.type) {
      case 'lockstart':
        return {
          type: 'lockstart',
          reqId,
          name: SPACE,
          path: 'lockspace',
          offsetBytes: 0,
          hostIdRequest: this.plan.hostId,
        };
      case 'lockstop':
        return { type: 'lockstop', reqId, name: SPACE };
      case 'acquire':
        return {
          type: 'acquire',
          reqId,
          lockspace: SPACE,
          resource: request.resource,
          mode: request.mode,
          holder: request.holder,
        };
      case 'convert':
        return {
          type: 'convert',
          reqId,
          lockspace: SPACE,
          resource: request.resource,
          mode: request.mode,
          holder: request.holder,
        };
      case 'release':
        return { type: 'release', reqId, lockspace: SPACE, resource: request.resource, holder: request.holder };
      default: {
        const never: never = request;
        throw new Error(`unknown request ${JSON.stringify(never)}`);
      }
    }
  }

  private onReply(daemon: SimDaemon, reply: Reply): void {
    this.oracles.replied(this, daemon, reply);
    const entry = this.pending.get(reply.reqId);
    if (entry === undefined || entry.daemon !== daemon) return;
    this.pending.delete(reply.reqId);
    entry.resolve(reply);
  }

  private onKill(daemon: SimDaemon, action: Extract<HostAction, { type: 'kill' }>): void {
    const context = this.context;
    // A repeated SIGTERM changes nothing here: a client that heeds it is already on its way out.
    if (context === undefined || action.repeat === true) return;
    for (const holder of action.holders) {
      if (holder.kind === 'persistent') {
        if (!this.plan.killCommand) continue;
        void context.clock.sleep(KILL_COMMAND_SECONDS).then(() => {
          if (this.persistentInUse) {
            this.persistentInUse = false;
            this.oracles.endUse(this, 'persistent', PERSISTENT_RESOURCE, 'killed', this.oracles.now(), undefined);
          }
          this.persistentGranted = false;
          if (this.daemon === daemon) daemon.feed({ type: 'kill_done', name: action.name, holder });
        });
        continue;
      }
      const client = this.clients.find((candidate) => candidate.pid === holder.pid);
      if (client === undefined || !client.alive) {
        // Gone already (it exited while the daemon was down): the pidfd says so at once.
        daemon.feed({ type: 'kill_done', name: action.name, holder });
        continue;
      }
      if (action.signal === 'kill') this.exitClient(client, 'killed', this.oracles.now());
      else if (!client.plan.stubborn) {
        void context.clock
          .sleep(TERM_EXIT_SECONDS)
          .then(() => this.exitClient(client, 'terminated', this.oracles.now()));
      }
    }
  }

  /** A client process exits (or is killed): it stops using everything; the daemon's pidfd watch sees it. */
  exitClient(client: SimClient, reason: string, atSeconds: number): void {
    if (!client.alive) return;
    client.alive = false;
    for (const [resource, use] of client.using)
      this.oracles.endUse(this, client.owner, resource, reason, atSeconds, use.generation);
    client.using.clear();
    client.granted.clear();
    if (reason !== 'reset') this.daemon?.feed({ type: 'client_exit', pid: client.pid, startTime: BigInt(this.boot) });
  }

  /** Sends `request` until a daemon answers it (clients retry through daemon restarts). */
  private async untilAnswered(
    context: HostContext,
    request: Request,
    alive: () => boolean,
  ): Promise<Reply | undefined> {
    for (;;) {
      if (!alive()) return undefined;
      const reply = await this.request(request);
      // Not answered yet: the daemon is gone, or back and still starting the lockspace again.
      if (reply.ok || !TRANSIENT_CODES.has(reply.error.code)) return reply;
      await context.clock.sleep(RETRY_SECONDS);
    }
  }

  private async runClient(context: HostContext, client: SimClient): Promise<void> {
    await context.clock.sleep(client.plan.startAtSeconds);
    for (const op of client.plan.ops) {
      if (!client.alive) return;
      await context.clock.sleep(op.gapSeconds);
      await this.clientOp(context, client, op);
    }
    if (client.alive) this.exitClient(client, 'done', this.oracles.now());
  }

  private async clientOp(context: HostContext, client: SimClient, op: ClientOp): Promise<void> {
    const reply = await this.request({ type: 'acquire', resource: op.resource, mode: op.mode, holder: client.holder });
    if (!client.alive || !reply.ok || reply.value.kind !== 'lease') return;
    const generation = this.db.token(reply.value.token)?.generation ?? 0n;
    client.granted.set(op.resource, { generation });
    client.using.set(op.resource, { generation });
    this.oracles.beginUse(this, client.owner, op.resource, op.mode, generation);
    const converts = op.convertTo !== undefined && op.convertTo !== op.mode;
    await context.clock.sleep(converts ? op.holdSeconds / 2 : op.holdSeconds);
    if (!client.alive) return;
    if (converts && op.convertTo !== undefined) {
      // A downgrade is used as shared from the moment it is asked for (the conversion frees the
      // leader on disk before its answer comes); an upgrade is used exclusively only once granted.
      const downgrade = op.convertTo === 'SH';
      if (downgrade) this.oracles.convertUse(this, client.owner, op.resource, 'SH', generation);
      const converted = await this.request({
        type: 'convert',
        resource: op.resource,
        mode: op.convertTo,
        holder: client.holder,
      });
      if (!client.alive) return;
      if (!downgrade && converted.ok && converted.value.kind === 'lease')
        this.oracles.convertUse(this, client.owner, op.resource, op.convertTo, generation);
      await context.clock.sleep(op.holdSeconds / 2);
      if (!client.alive) return;
    }
    if (op.crash) return this.exitClient(client, 'crashed', this.oracles.now());
    // It stops using the lease, then asks for the release.
    client.using.delete(op.resource);
    this.oracles.endUse(this, client.owner, op.resource, 'released', this.oracles.now(), generation);
    const released = await this.untilAnswered(
      context,
      { type: 'release', resource: op.resource, holder: client.holder },
      () => client.alive,
    );
    if (released !== undefined) client.granted.delete(op.resource);
  }

  private async runPersistent(context: HostContext, atSeconds: number, holdSeconds: number): Promise<void> {
    await context.clock.sleep(atSeconds);
    const holder: Holder = { kind: 'persistent' };
    const reply = await this.request({ type: 'acquire', resource: PERSISTENT_RESOURCE, mode: 'EX', holder });
    if (!reply.ok || reply.value.kind !== 'lease') return;
    const generation = this.db.token(reply.value.token)?.generation ?? 0n;
    this.persistentGranted = true;
    this.persistentInUse = true;
    this.oracles.beginUse(this, 'persistent', PERSISTENT_RESOURCE, 'EX', generation);
    await context.clock.sleep(holdSeconds);
    if (!this.persistentInUse) return;
    this.persistentInUse = false;
    this.oracles.endUse(this, 'persistent', PERSISTENT_RESOURCE, 'released', this.oracles.now(), generation);
    const released = await this.untilAnswered(context, { type: 'release', resource: PERSISTENT_RESOURCE, holder }, () =>
      this.host.isAlive(context.incarnation),
    );
    if (released !== undefined) this.persistentGranted = false;
  }

  /** The admin: keeps the lockspace started (again after a loss) unless told to keep it stopped. */
  private async operator(context: HostContext): Promise<void> {
    for (;;) {
      await context.clock.sleep(OPERATOR_PERIOD_SECONDS);
      const daemon = this.daemon;
      if (daemon === undefined || !daemon.isAlive) continue;
      const state = daemon.core.lockspace(SPACE)?.state;
      if (this.wantStarted) {
        if (state === undefined || state.kind === 'stopped') void this.request({ type: 'lockstart' });
        else if (state.kind === 'lost') await this.lockstop(daemon);
      } else if (state !== undefined && state.kind === 'joined' && this.persistentGranted) {
        // lvchange -an first: the LV's users stop, its lease is released.
        if (this.persistentInUse) {
          this.persistentInUse = false;
          this.oracles.endUse(this, 'persistent', PERSISTENT_RESOURCE, 'deactivated', this.oracles.now(), undefined);
        }
        const released = await this.request({
          type: 'release',
          resource: PERSISTENT_RESOURCE,
          holder: { kind: 'persistent' },
        });
        if (released.ok) this.persistentGranted = false;
      } else if (state !== undefined && state.kind !== 'stopping') {
        await this.lockstop(daemon);
      }
    }
  }

  /** lockstop, as an admin does it: the persistent users are stopped first (lvchange -an). */
  async lockstop(daemon: SimDaemon): Promise<void> {
    const state = daemon.core.lockspace(SPACE)?.state;
    if (state === undefined) return;
    if (state.kind !== 'joined') {
      // Stopping a lost (or restarting) lockspace is the admin saying its LVs are deactivated.
      if (this.persistentInUse)
        this.oracles.endUse(
          this,
          'persistent',
          PERSISTENT_RESOURCE,
          'stopped by the admin',
          this.oracles.now(),
          undefined,
        );
      this.persistentInUse = false;
    }
    const boundSeconds =
      LEAVE_TIMEOUT_IO_TIMEOUTS * this.scenario.ioTimeoutSeconds +
      this.scenario.killGraceSeconds +
      2 * this.scenario.companionLatencySeconds +
      2;
    // A join or resume in flight is cancelled at once (even on a hung disk): bounded too. Only the
    // companion's answer to a registration is waited for.
    const bounded = state.kind !== 'starting' || state.phase !== 'register';
    const issuedAt = this.oracles.now();
    this.context?.note(
      `operator: lockstop (${state.kind}${state.kind === 'starting' ? ` ${state.phase}${state.cancelled ? ' cancelled' : ''}` : ''})`,
    );
    let answered = false;
    const resetsBefore = this.resets;
    // A reset this soon after the lockstop was due anyway: the stop could not have told the companion yet.
    const promptSeconds = 2 * this.scenario.companionLatencySeconds + 1;
    if (bounded) {
      // (A later watchdog reset while it is pending counts: it should have finished well before that.)
      void this.oracles.world.after(boundSeconds, `${this.plan.machine}: lockstop bound`, () => {
        const blamedReset = this.resets > resetsBefore && this.lastResetAtSeconds > issuedAt + promptSeconds;
        if (!answered && ((this.daemon === daemon && daemon.isAlive) || blamedReset)) {
          this.oracles.violation(
            `${this.label}: lockstop of a ${state.kind} lockspace issued at ${issuedAt.toFixed(3)} did not finish within ${boundSeconds} s`,
          );
        }
      });
    }
    const reply = await this.request({ type: 'lockstop' });
    // A daemon that died meanwhile did not answer it.
    answered = reply.ok || reply.error.code !== 'DAEMON_GONE';
    if (!reply.ok) return;
    // Stopped: the daemon's persistent leases in it are gone with it.
    this.persistentGranted = false;
    this.oracles.lockstopped(this, daemon);
  }
}
