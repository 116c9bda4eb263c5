/**
 * The plain sanlock peer of the chaos run: the real sanlock daemon in a private mount namespace
 * (peer-namespace.ts) joins the VG's lockspace `lvm_<vg>` (`sanlock client add_lockspace` on the lock
 * LV at offset 0, as lvmlockd would) and takes an LV's lease as lvmlockd names it (resource: the LV's
 * UUID at its lock_args offset in lvmlock) with `sanlock client acquire -r ... -p PID` for a process
 * registered with `sanlock client command -c sleep` (sanlock(8)'s own recipe), and releases it with
 * `sanlock client release`.
 */
import { killAndWait, lockLvLinkPath, PeerNamespace, SANLOCK } from './peer-namespace.js';
import { shortCode, type PeerAnswer, type PeerLeases } from './peer-worker.js';
import type { PeerLv } from './peer-layout.js';

const ADD_LOCKSPACE_TIMEOUT_MS = 120_000;
const CLIENT_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export class SanlockPeer implements PeerLeases {
  private registeredPid: number | undefined;
  private joined = false;

  private constructor(
    private readonly ns: PeerNamespace,
    private readonly lockspace: string,
    private readonly lockLvPath: string,
    private readonly hostId: number,
  ) {}

  private get lockspaceArg(): string {
    return `${this.lockspace}:${this.hostId}:${this.lockLvPath}:0`;
  }

  static async start(options: {
    dir: string;
    hostId: number;
    vg: string;
    lockLvDevice: string;
    ioTimeoutSeconds: number;
  }): Promise<SanlockPeer> {
    const ns = await PeerNamespace.start(options.dir);
    const peer = new SanlockPeer(ns, `lvm_${options.vg}`, lockLvLinkPath(options.vg), options.hostId);
    try {
      await ns.linkLockLv(options.vg, options.lockLvDevice);
      await ns.startSanlock(`chaos-sanlock-host${options.hostId}`);
      const added = await peer.client(
        ['add_lockspace', '-s', peer.lockspaceArg, '-o', String(options.ioTimeoutSeconds)],
        ADD_LOCKSPACE_TIMEOUT_MS,
      );
      if (!added.ok) throw new Error(`sanlock peer: add_lockspace ${peer.lockspaceArg} failed: ${added.code}`);
      peer.joined = true;
      // The process the leases are held for: registered, then exec'd into sleep (sanlock(8)).
      const pid = ns.spawn([SANLOCK, 'client', 'command', '-c', '/bin/sleep', 'infinity'], {}, 'registered.log').pid;
      if (pid === undefined) throw new Error('sanlock peer: the registered process did not start');
      await ns.waitUntil('the registered process', async () => {
        const status = await ns.exec([SANLOCK, 'client', 'status'], {}, CLIENT_TIMEOUT_MS);
        return new RegExp(`^p ${pid}\\b`, 'm').test(status.stdout);
      });
      peer.registeredPid = pid;
    } catch (error) {
      await peer.stop();
      throw error;
    }
    return peer;
  }

  /** `sanlock client ARGS`: ok when it exits 0 and reports `done 0`. */
  private async client(args: string[], timeoutMs = CLIENT_TIMEOUT_MS): Promise<PeerAnswer> {
    const result = await this.ns.exec([SANLOCK, 'client', ...args], {}, timeoutMs);
    const ok = result.status === 0 && /done 0\b/.test(result.stdout);
    return {
      ok,
      code: result.timedOut ? 'timed out' : shortCode(`${result.stdout} ${result.stderr}`),
      ambiguous: result.timedOut,
    };
  }

  private resourceArg(target: PeerLv): string {
    return `${this.lockspace}:${target.resourceName}:${this.lockLvPath}:${target.leaseOffsetBytes}`;
  }

  acquire(target: PeerLv): Promise<PeerAnswer> {
    return this.client(['acquire', '-r', this.resourceArg(target), '-p', String(this.registeredPid)]);
  }

  async release(target: PeerLv): Promise<PeerAnswer> {
    const answer = await this.client(['release', '-r', this.resourceArg(target), '-p', String(this.registeredPid)]);
    // A cleanup after an ambiguous acquire: a lease the process does not hold is released already.
    if (!answer.ok && /-2\b|ENOENT/.test(answer.code)) return { ...answer, ok: true };
    return answer;
  }

  /** The harness is exiting: kill the peer's processes without a clean release. */
  killNow(): void {
    this.ns.killNow();
  }

  /** Ends the registered process (its leases go with it), leaves the lockspace, stops sanlock and the namespace. */
  async stop(): Promise<string[]> {
    if (this.registeredPid !== undefined) await killAndWait(this.registeredPid, 'SIGKILL');
    if (this.joined) await this.client(['rem_lockspace', '-s', this.lockspaceArg], STOP_TIMEOUT_MS);
    return this.ns.stop();
  }
}
