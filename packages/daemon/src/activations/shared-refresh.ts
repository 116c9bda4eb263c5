/**
 * The receiving half of a shared extend (docs/volumes.md, "Extending an LV active on several hosts").
 * lvextend on another host commits the VG, then sends EVENT_LV_EXTENDED (data = the VG seqno after
 * the commit) to every host of the VG's lockspace. Here, for each such event in a lockspace where LVs
 * are active on this host:
 *
 *   1. run `<refresh_command> <vg>/<lv>...` once, for the LVs active here whose mapping is older than
 *      that seqno (the default command, this leasehold's `lvchange --refresh`, reads the metadata on
 *      this host and sends the `refresh` op for each: the backend resizes the device in place);
 *   2. answer with EVENT_LV_REFRESHED, data = the oldest seqno any LV of the VG active here now
 *      follows, to the sender. The answer stays in our delta lease, where lvs reads it.
 *
 * A sender's event is seen on each of its renewals while our bit is set in its bitmap, so it arrives
 * several times: seqnos already handled (or being handled) are dropped. Events that arrive while a
 * refresh runs are coalesced into one more run for the highest seqno.
 */
import { spawn } from 'node:child_process';
import type { DeltaEvent, Logger } from '@leasehold/lease';
import { EVENT_LV_EXTENDED, EVENT_LV_REFRESHED, type ActivationInfo } from '@leasehold/protocol';

/** A refresh command that has not exited by then is killed (it waits at most for VGLK and the daemon). */
export const REFRESH_COMMAND_TIMEOUT_SECONDS = 120;
/** Output of a refresh command kept for the log. */
export const MAX_REFRESH_OUTPUT_BYTES = 4096;

export interface CommandOutcome {
  /** Exit status; null when it was killed or could not be started. */
  status: number | null;
  output: string;
}

/** Runs argv with env; never rejects. */
export type CommandRunner = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<CommandOutcome>;

export interface SharedRefreshDeps {
  /** The LVs active on this host in a lockspace (the activation registry's list). */
  activations: (lockspace: string) => ActivationInfo[];
  /** The lockspace manager's set_event. */
  setEvent: (lockspace: string, hostId: number, event: bigint, data: bigint) => Promise<void>;
  /** argv to which the `<vg>/<lv>` to refresh are appended. */
  command: readonly string[];
  /** Added to the command's environment: LEASEHOLD_SOCKET names this daemon. */
  env: NodeJS.ProcessEnv;
  run: CommandRunner;
  logger: Logger;
  /** Called after each refresh round (state history). */
  onRefreshed?: (lockspace: string, details: Record<string, unknown>) => void;
}

interface LockspaceRefresh {
  /** Highest seqno asked for by an event. */
  wanted: number;
  /** Highest seqno a finished round was run for. */
  done: number;
  /** Who asked for `wanted` (the answer goes there). */
  fromHostId: number;
  running: Promise<void> | undefined;
}

/** This leasehold's own `lvchange --refresh`: the program that runs the daemon. */
export function defaultRefreshCommand(): string[] {
  const script = process.argv[1];
  return script === undefined
    ? [process.execPath, 'lvchange', '--refresh']
    : [process.execPath, script, 'lvchange', '--refresh'];
}

export const runCommand: CommandRunner = (argv, env) =>
  new Promise((resolve) => {
    const [file, ...args] = argv;
    if (file === undefined) {
      resolve({ status: null, output: 'empty command' });
      return;
    }
    let output = '';
    const keep = (data: Buffer): void => {
      if (output.length < MAX_REFRESH_OUTPUT_BYTES) output += data.toString().slice(0, MAX_REFRESH_OUTPUT_BYTES);
    };
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), REFRESH_COMMAND_TIMEOUT_SECONDS * 1000);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ status: null, output: error.message });
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output: output.trim() });
    });
  });

export class SharedRefresh {
  private readonly byLockspace = new Map<string, LockspaceRefresh>();

  constructor(private readonly deps: SharedRefreshDeps) {}

  /** A delta-lease event arrived in `lockspace` (any event: others are not ours and are ignored). */
  onEvent(lockspace: string, event: DeltaEvent): void {
    const extended = event.event === EVENT_LV_EXTENDED;
    if (!extended && event.event !== EVENT_LV_REFRESHED) return;
    if (event.data > BigInt(Number.MAX_SAFE_INTEGER)) return;
    const seqno = Number(event.data);
    const live = this.live(lockspace);
    if (live.length === 0) return;
    // An answer also says that metadata at its seqno exists. It can be the only trace of an extend:
    // a host that answers replaces its own EXTENDED event (one event per sender) before every host
    // has sampled it. Acted on only when it shows this host behind.
    if (!extended && live.every((a) => (a.mappingSeqno ?? 0) >= seqno)) return;
    let state = this.byLockspace.get(lockspace);
    if (state === undefined) {
      state = { wanted: 0, done: 0, fromHostId: event.fromHostId, running: undefined };
      this.byLockspace.set(lockspace, state);
    }
    // Delivered again on each of the sender's renewals: one round per seqno.
    if (seqno <= state.wanted) return;
    state.wanted = seqno;
    state.fromHostId = event.fromHostId;
    this.deps.logger.info({ lockspace, seqno, fromHostId: event.fromHostId }, 'shared extend: refresh asked');
    if (state.running === undefined) {
      const current = state;
      current.running = this.rounds(lockspace, current).finally(() => {
        current.running = undefined;
      });
    }
  }

  /** Resolves when no refresh is running in `lockspace` (tests, shutdown). */
  async idle(lockspace: string): Promise<void> {
    for (;;) {
      const running = this.byLockspace.get(lockspace)?.running;
      if (running === undefined) return;
      await running;
    }
  }

  private async rounds(lockspace: string, state: LockspaceRefresh): Promise<void> {
    while (state.wanted > state.done) {
      const seqno = state.wanted;
      const fromHostId = state.fromHostId;
      try {
        await this.round(lockspace, seqno, fromHostId);
      } catch (error) {
        this.deps.logger.error(
          { lockspace, seqno, err: error instanceof Error ? error.message : String(error) },
          'shared extend: refresh round failed',
        );
      }
      state.done = seqno;
    }
  }

  private async round(lockspace: string, seqno: number, fromHostId: number): Promise<void> {
    const { logger } = this.deps;
    const stale = this.live(lockspace).filter((a) => (a.mappingSeqno ?? 0) < seqno);
    const lvs = stale.map((a) => `${a.vgName}/${a.lvName}`);
    let failed = false;
    if (lvs.length > 0) {
      // One run for all of them (lvchange --refresh takes several VG/LV).
      const outcome = await this.deps.run([...this.deps.command, ...lvs], { ...process.env, ...this.deps.env });
      failed = outcome.status !== 0;
      if (failed)
        logger.error(
          { lockspace, lvs, seqno, status: outcome.status, output: outcome.output },
          'refresh command failed',
        );
    }
    const after = this.live(lockspace);
    if (after.length === 0) return;
    // What this host follows now: the oldest mapping among its active LVs of the VG.
    const refreshedTo = Math.min(...after.map((a) => a.mappingSeqno ?? 0));
    await this.deps.setEvent(lockspace, fromHostId, EVENT_LV_REFRESHED, BigInt(refreshedTo));
    const details = { seqno, refreshedTo, lvs, failed };
    this.deps.onRefreshed?.(lockspace, details);
    logger.info({ lockspace, fromHostId, ...details }, 'shared extend: refreshed and answered');
  }

  private live(lockspace: string): ActivationInfo[] {
    return this.deps.activations(lockspace).filter((a) => a.loss === undefined);
  }
}
