/**
 * The chaos run's peer hosts (`--peers lvmlockd,sanlock`): the lock LV's stand-in loop device (the
 * real tools open /dev/mapper/<vg>-lvmlock, which is a symlink to it in each peer's namespace), the
 * peers themselves, one worker each on the same LVs as the leasehold writers, and their teardown.
 * Peers take no faults; they contend with the leasehold hosts for the LVs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../../cli-error.js';
import type { PeerHost } from '../checker/check.js';
import { LvmlockdPeer } from './lvmlockd-peer.js';
import { CHAOS_VG, peerHostIds, workerLvs, type ChaosOptions, type PeerKind } from './options.js';
import { NSENTER, SANLOCK, UNSHARE } from './peer-namespace.js';
import { readPeerLayout } from './peer-layout.js';
import { PeerWorker, type PeerLeases } from './peer-worker.js';
import { SanlockPeer } from './sanlock-peer.js';

/** What each peer kind runs (Debian: sanlock, lvm2, lvm2-lockd, util-linux). */
const PEER_TOOLS: Readonly<Record<PeerKind, readonly string[]>> = {
  lvmlockd: [SANLOCK, '/usr/sbin/lvmlockd', '/usr/sbin/lvm', NSENTER, UNSHARE],
  sanlock: [SANLOCK, NSENTER, UNSHARE],
};

/** Refuses a run whose peers' tools are missing, naming them (a run with peers never goes on without them). */
function requirePeerTools(kinds: readonly PeerKind[]): void {
  const missing = [...new Set(kinds.flatMap((kind) => PEER_TOOLS[kind]))].filter((tool) => !existsSync(tool));
  if (missing.length > 0)
    throw new CliError(
      'NOT_FOUND',
      `the chaos peers need ${missing.join(', ')} (apt-get install sanlock lvm2 lvm2-lockd util-linux)`,
    );
}

interface StartedPeer {
  host: string;
  kind: string;
  leases: PeerLeases & { stop(): Promise<string[]>; killNow(): void };
  worker: PeerWorker;
}

export class ChaosPeers {
  private readonly started: StartedPeer[] = [];
  /** Every peer that joined (kept after stop(), for the run's record). */
  readonly hosts: PeerHost[] = [];
  private lockLvDevice: string | undefined;

  /** Last resort if the harness exits without stop(): kill what the peers started, free the loop. */
  private readonly onExit = (): void => {
    for (const peer of this.started) peer.leases.killNow();
    if (this.lockLvDevice !== undefined) spawnSync('losetup', ['-d', this.lockLvDevice]);
  };

  private constructor(private readonly note: (line: string) => void) {
    process.once('exit', this.onExit);
  }

  /** Starts the peers (each joins the VG's lockspace); on failure stops what started and throws. */
  static async start(
    options: ChaosOptions,
    context: { pvPath: string; image: string; historyDir: string; note: (line: string) => void },
  ): Promise<ChaosPeers> {
    requirePeerTools(options.peers);
    const peers = new ChaosPeers(context.note);
    try {
      const layout = await readPeerLayout(context.pvPath, CHAOS_VG, workerLvs(options));
      // Direct I/O as the PV's own loop device: both loops reach the image without the page cache.
      const lockLvDevice = execFileSync(
        'losetup',
        [
          '-f',
          '--show',
          '--sector-size',
          '512',
          '--direct-io=on',
          '--offset',
          String(layout.lockLvOffsetBytes),
          '--sizelimit',
          String(layout.lockLvSizeBytes),
          context.image,
        ],
        { encoding: 'utf8' },
      ).trim();
      peers.lockLvDevice = lockLvDevice;
      context.note(`peers: lock LV stand-in ${lockLvDevice}`);
      const common = { vg: CHAOS_VG, lockLvDevice, ioTimeoutSeconds: options.ioTimeoutSeconds };
      const starting = peerHostIds(options).map(async ({ kind, hostId }) => {
        const host = `host${hostId}`;
        const dir = join(options.dir, 'peers', host);
        const leases =
          kind === 'lvmlockd'
            ? await LvmlockdPeer.start({ ...common, dir, hostId, pvPath: context.pvPath, vgLock: options.peerVgLock })
            : await SanlockPeer.start({ ...common, dir, hostId });
        const worker = new PeerWorker(
          {
            host,
            hostIndex: hostId,
            worker: `${host}-${kind}`,
            historyPath: join(context.historyDir, `${host}-${kind}.jsonl`),
            pvPath: context.pvPath,
            lvs: layout.lvs,
            slots: options.slotsPerLv,
            writesPerCycle: options.writesPerCycle,
            writePauseMs: options.writePauseMs,
            seed: options.seed * 1000 + hostId * 100,
          },
          leases,
        );
        peers.started.push({ host, kind, leases, worker });
        peers.hosts.push({ host, kind });
        context.note(`peers: ${host} (${kind}) joined ${CHAOS_VG}`);
      });
      const results = await Promise.allSettled(starting);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      peers.hosts.sort((a, b) => a.host.localeCompare(b.host, 'en', { numeric: true }));
    } catch (error) {
      await peers.stop();
      throw error;
    }
    return peers;
  }

  /** Runs every peer's worker until `untilNs`. */
  async run(untilNs: bigint): Promise<void> {
    await Promise.all(
      this.started.map(async ({ host, worker }) => {
        try {
          await worker.run(untilNs);
        } catch (error) {
          this.note(`peers: ${host}: worker stopped: ${(error as Error).stack ?? String(error)}`);
        }
      }),
    );
  }

  /** Stops every peer (leases dropped, lockspace left, daemons and namespaces gone) and frees the loop device. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    for (const peer of this.started.splice(0)) {
      for (const problem of await peer.leases.stop().catch((error: Error) => [error.message]))
        this.note(`peers: ${peer.host}: stop: ${problem}`);
    }
    if (this.lockLvDevice !== undefined) {
      const detached = spawnSync('losetup', ['-d', this.lockLvDevice], { encoding: 'utf8' });
      if (detached.status !== 0) this.note(`peers: losetup -d ${this.lockLvDevice}: ${detached.stderr.trim()}`);
      this.lockLvDevice = undefined;
    }
  }
}
