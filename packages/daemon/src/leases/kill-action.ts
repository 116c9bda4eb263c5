/**
 * What the daemon does to the users of a lockspace whose delta lease is lost (sanlock's recovery):
 *
 *   t = loss:          each holder process gets SIGTERM, or, when a kill command is configured for
 *                      the lockspace, that command runs once per holder with arguments
 *                      `LOCKSPACE PID` (and once with `LOCKSPACE persistent` for the daemon's own
 *                      persistent leases);
 *   t = loss + grace:  SIGKILL, once a second, until the process is gone (given up after
 *                      MAX_SIGKILL_ATTEMPTS: the watchdog must then fence the host).
 *
 * For the lease holders the host core knows, when each step comes is the core's kill plan: its
 * 'term' action starts the campaign and its 'kill' rounds (after the grace period, once a second)
 * are executed by killRound(). Victims the core cannot know, the processes that have a lost LV's
 * device open (handed over by the activation loss handler with `timing: 'own'`), are escalated here
 * on the same schedule, by this class's own timer.
 *
 * Processes are tracked by pidfd, and signalled only while their pidfd says they have not exited,
 * so a reused pid is never hit. When every holder is gone (and the persistent users are stopped, and
 * no hold is left: the activation registry holds a campaign until its LVs are deactivated), the
 * lockspace is reported clean: the watchdog link may then stop protecting it.
 */
import { spawn } from 'node:child_process';
import type { Clock, Logger } from '@leasehold/lease';
import { monotonicClock } from '../util/monotonic.js';
import type { ProcessWatch } from '../clients/process-watch.js';

export const KILL_REPEAT_INTERVAL_MS = 1000;
/** sanlock gives up after 100 attempts per pid. */
export const MAX_SIGKILL_ATTEMPTS = 100;

export interface KillVictim {
  pid: number;
  startTime: bigint;
}

export interface KillPlan {
  lockspace: string;
  processes: KillVictim[];
  /** Resources of the daemon's persistent leases in the lockspace (their users are not processes we know). */
  persistentResources: string[];
  /** argv of the kill command, or undefined for SIGTERM. */
  command: string[] | undefined;
  graceSeconds: number;
  /**
   * 'core': the host core's 'kill' rounds escalate these victims (killRound); 'own' (the default):
   * they are not lease holders the core knows, so this class escalates them itself.
   */
  timing?: 'core' | 'own';
}

interface Campaign {
  plan: KillPlan;
  alive: Set<number>;
  /** The alive victims this class escalates itself (not the core's lease holders). */
  ownTiming: Set<number>;
  persistentPending: boolean;
  startedAtSeconds: number;
  timer: NodeJS.Timeout | undefined;
  sigkillAttempts: Map<number, number>;
  waiters: Array<() => void>;
}

/**
 * Takes over the users of some persistent leases of a lost lockspace (the activation registry: the
 * users of an active LV are the processes with its device open). Returns the resources it took; it
 * holds the campaign (hold()) until they are stopped. The rest are left to the kill command.
 */
export type PersistentUsersHandler = (lockspace: string, resources: readonly string[]) => string[];

export class KillAction {
  private readonly campaigns = new Map<string, Campaign>();
  /** Holds on lockspaces' campaigns (see hold()), by lockspace. */
  private readonly holds = new Map<string, number>();
  private persistentHandler: PersistentUsersHandler | undefined;

  constructor(
    private readonly watch: ProcessWatch,
    private readonly logger: Logger,
    private readonly onClean: (lockspace: string) => void,
    /** Monotonic: the grace period must not move with the wall clock. */
    private readonly clock: Clock = monotonicClock,
  ) {}

  /** Who stops the users of persistent leases it knows (set once, at start-up). */
  setPersistentHandler(handler: PersistentUsersHandler): void {
    this.persistentHandler = handler;
  }

  /** Starts (or extends) the campaign against a lockspace's users. */
  start(requested: KillPlan): void {
    const claimed =
      this.persistentHandler === undefined || requested.persistentResources.length === 0
        ? []
        : this.persistentHandler(requested.lockspace, requested.persistentResources);
    const plan: KillPlan =
      claimed.length === 0
        ? requested
        : {
            ...requested,
            persistentResources: requested.persistentResources.filter((resource) => !claimed.includes(resource)),
          };
    const campaign: Campaign = this.campaigns.get(plan.lockspace) ?? {
      plan,
      alive: new Set(),
      ownTiming: new Set(),
      persistentPending: false,
      startedAtSeconds: this.clock.nowSeconds(),
      timer: undefined,
      sigkillAttempts: new Map(),
      waiters: [],
    };
    this.campaigns.set(plan.lockspace, campaign);
    for (const victim of plan.processes) {
      // Already in the campaign: its rounds go on; the start's signal or command is not repeated.
      if (campaign.alive.has(victim.pid)) continue;
      const watching = this.watch.watchIncarnation(victim.pid, victim.startTime, (pid) =>
        this.exited(plan.lockspace, pid),
      );
      if (!watching) continue;
      campaign.alive.add(victim.pid);
      if (plan.timing !== 'core') campaign.ownTiming.add(victim.pid);
      if (plan.command !== undefined)
        this.runCommand(plan, [String(victim.pid)], { LEASEHOLD_PID: String(victim.pid) });
      else this.signal(victim.pid, 'SIGTERM', plan.lockspace);
    }
    if (plan.persistentResources.length > 0) {
      if (plan.command === undefined) {
        campaign.persistentPending = true;
        this.logger.error(
          { lockspace: plan.lockspace, resources: plan.persistentResources },
          'lease lost under persistent leases and no kill command is configured: stop their users, then lockstop the lockspace',
        );
      } else {
        campaign.persistentPending = true;
        this.runCommand(plan, ['persistent'], { LEASEHOLD_RESOURCES: plan.persistentResources.join(' ') }, (ok) => {
          if (ok) campaign.persistentPending = false;
          this.checkClean(plan.lockspace);
        });
      }
    }
    if (campaign.timer === undefined && campaign.ownTiming.size > 0) {
      campaign.timer = setInterval(() => this.tick(plan.lockspace), KILL_REPEAT_INTERVAL_MS);
    }
    this.checkClean(plan.lockspace);
  }

  /**
   * The host core's repeated 'term' round (during the grace period): SIGTERM again for those of
   * `victims` still alive, unless the lockspace has a kill command (it runs once).
   */
  termRound(lockspace: string, victims: readonly KillVictim[]): void {
    const campaign = this.campaigns.get(lockspace);
    if (campaign === undefined || campaign.plan.command !== undefined) return;
    this.watch.check();
    for (const victim of victims) if (campaign.alive.has(victim.pid)) this.signal(victim.pid, 'SIGTERM', lockspace);
  }

  /** The host core's 'kill' round: SIGKILL for those of `victims` still alive in the lockspace's campaign. */
  killRound(lockspace: string, victims: readonly KillVictim[]): void {
    const campaign = this.campaigns.get(lockspace);
    if (campaign === undefined) return;
    this.watch.check();
    for (const victim of victims) if (campaign.alive.has(victim.pid)) this.sigkill(campaign, victim.pid, lockspace);
  }

  /**
   * Keeps the lockspace's campaign from finishing while other work must be done first (active LVs
   * to deactivate once their users are gone); the returned function lets go (once). May come before
   * start(): the campaign that starts then waits for it too.
   */
  hold(lockspace: string): () => void {
    this.holds.set(lockspace, (this.holds.get(lockspace) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.holds.get(lockspace) ?? 1) - 1;
      if (left > 0) this.holds.set(lockspace, left);
      else this.holds.delete(lockspace);
      this.checkClean(lockspace);
    };
  }

  /** Processes of the lockspace's campaign still alive (0 when there is none), and holds on it. */
  pendingCount(lockspace: string): number {
    const campaign = this.campaigns.get(lockspace);
    const held = this.holds.get(lockspace) ?? 0;
    return campaign === undefined ? held : campaign.alive.size + (campaign.persistentPending ? 1 : 0) + held;
  }

  /** Resolves when the lockspace's users are all gone. */
  whenClean(lockspace: string): Promise<void> {
    const campaign = this.campaigns.get(lockspace);
    if (campaign === undefined) return Promise.resolve();
    return new Promise((resolve) => campaign.waiters.push(resolve));
  }

  /** The admin says the persistent users are stopped (lockstop of a lost lockspace). */
  dropPersistent(lockspace: string): void {
    const campaign = this.campaigns.get(lockspace);
    if (campaign === undefined) return;
    campaign.persistentPending = false;
    this.checkClean(lockspace);
  }

  close(): void {
    for (const campaign of this.campaigns.values()) if (campaign.timer !== undefined) clearInterval(campaign.timer);
    this.campaigns.clear();
  }

  /** Once a second for the victims escalated here: SIGTERM again until the grace period ends, then SIGKILL. */
  private tick(lockspace: string): void {
    const campaign = this.campaigns.get(lockspace);
    if (campaign === undefined) return;
    this.watch.check();
    const pastGrace = this.clock.nowSeconds() - campaign.startedAtSeconds >= campaign.plan.graceSeconds;
    for (const pid of [...campaign.ownTiming]) {
      if (!campaign.alive.has(pid)) {
        campaign.ownTiming.delete(pid);
        continue;
      }
      // Before the grace period ends only SIGTERM is repeated; a kill command runs once.
      if (!pastGrace) {
        if (campaign.plan.command === undefined) this.signal(pid, 'SIGTERM', lockspace);
        continue;
      }
      this.sigkill(campaign, pid, lockspace);
    }
  }

  private sigkill(campaign: Campaign, pid: number, lockspace: string): void {
    const attempts = (campaign.sigkillAttempts.get(pid) ?? 0) + 1;
    campaign.sigkillAttempts.set(pid, attempts);
    if (attempts > MAX_SIGKILL_ATTEMPTS) {
      if (attempts === MAX_SIGKILL_ATTEMPTS + 1) {
        this.logger.error(
          { lockspace, clientPid: pid },
          'lease holder did not die after repeated SIGKILL (stuck in the kernel?): only the watchdog can fence now',
        );
      }
      return;
    }
    this.signal(pid, 'SIGKILL', lockspace);
  }

  private signal(pid: number, signal: NodeJS.Signals, lockspace: string): void {
    // The pidfd says whether this incarnation has exited; only then could the pid be someone else's.
    if (!this.watch.isAlive(pid)) return;
    try {
      process.kill(pid, signal);
      this.logger.warn({ lockspace, clientPid: pid, signal }, 'signalled lease holder of a lost lockspace');
    } catch (error) {
      this.logger.warn({ lockspace, clientPid: pid, signal, err: error }, 'signal to lease holder failed');
    }
  }

  private runCommand(
    plan: KillPlan,
    extraArgs: string[],
    env: Record<string, string>,
    done?: (ok: boolean) => void,
  ): void {
    const [file, ...args] = plan.command ?? [];
    if (file === undefined) {
      done?.(false);
      return;
    }
    const argv = [...args, plan.lockspace, ...extraArgs];
    this.logger.warn({ lockspace: plan.lockspace, command: [file, ...argv] }, 'running kill command');
    const child = spawn(file, argv, {
      stdio: 'ignore',
      env: { ...process.env, LEASEHOLD_LOCKSPACE: plan.lockspace, ...env },
    });
    child.on('error', (error) => {
      this.logger.error({ lockspace: plan.lockspace, err: error }, 'kill command could not run');
      done?.(false);
    });
    child.on('exit', (code, signal) => {
      this.logger.warn({ lockspace: plan.lockspace, code, signal }, 'kill command finished');
      done?.(code === 0);
    });
  }

  private exited(lockspace: string, pid: number): void {
    const campaign = this.campaigns.get(lockspace);
    if (campaign === undefined) return;
    campaign.ownTiming.delete(pid);
    if (campaign.alive.delete(pid))
      this.logger.info({ lockspace, clientPid: pid }, 'lease holder of a lost lockspace has exited');
    this.checkClean(lockspace);
  }

  private checkClean(lockspace: string): void {
    const campaign = this.campaigns.get(lockspace);
    if (campaign === undefined || campaign.alive.size > 0 || campaign.persistentPending) return;
    if ((this.holds.get(lockspace) ?? 0) > 0) return;
    if (campaign.timer !== undefined) clearInterval(campaign.timer);
    this.campaigns.delete(lockspace);
    this.logger.info({ lockspace }, 'no process uses the lost lockspace any more');
    this.onClean(lockspace);
    for (const resolve of campaign.waiters) resolve();
  }
}
