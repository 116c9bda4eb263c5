/**
 * The 3-minute chaos run (issue 15, must show): real daemons, companions and test watchdog devices
 * on five emulated hosts sharing one VG on a loop device, writers activating and writing LVs with
 * O_DIRECT, faults at random, and the peers taking the same LV leases with the real tools (host6:
 * lvmlockd + sanlock with lvchange, host7: sanlock client acquire); the checker then finds no
 * violation, with at least 30 faults, 200 activations and 10 takeovers of LVs from fenced hosts, and
 * each peer made activations of its own. Needs root, lvm2, lvm2-lockd and sanlock (never skipped: the
 * run fails without them).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHistoryDir } from '../src/chaos/history-file.js';
import { FAULT_KINDS } from '../src/chaos/history.js';
import { CLI_PATH } from './run-cli.js';
import { clusterSupported } from './support/cluster.js';

const RUN_MS = 3 * 60_000;
/**
 * A fault every 2 s: at one every 3 s, takeovers after fencing (freeze-long, storage-hang,
 * power-cycle are 6 of 14 weights) ranged 7-24 in six runs, below the 10 required once.
 */
const FAULT_INTERVAL_SECONDS = '2';
/** Set-up, the writers' last cycles, the check: well under this on a loaded machine. */
const OVERHEAD_MS = 5 * 60_000;
const SUMMARY =
  /^chaos: (\d+) faults, (\d+) activations, (\d+) takeovers, (\d+) acknowledged writes, (\d+) violations, (\d+) s$/m;
const PEERS =
  /^chaos peers: host6 lvmlockd (\d+) activations (\d+) takeovers, host7 sanlock (\d+) activations (\d+) takeovers$/m;
/** Each peer takes part: a few activations at least (they pause between cycles and meet refusals). */
const MIN_PEER_ACTIVATIONS = 3;

function runChaos(dir: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        CLI_PATH,
        'testing',
        'chaos',
        '--dir',
        dir,
        '--duration',
        `${RUN_MS / 1000}s`,
        '--hosts',
        '5',
        '--fault-interval',
        FAULT_INTERVAL_SECONDS,
        '--peers',
        'lvmlockd,sanlock',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('the chaos run', () => {
  it('runs where emulated hosts can (root, unshare, nsenter): never skipped', () => {
    expect(clusterSupported(), 'the chaos run needs root with unshare --pid --mount and nsenter').toBe(true);
  });

  it(
    'keeps every guarantee for 3 minutes of faults with the lvmlockd and sanlock peers: >= 30 faults, 200 activations, 10 takeovers, 0 violations',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'leasehold-chaos-ci-'));
      const { status, stdout, stderr } = await runChaos(dir);
      const match = SUMMARY.exec(stdout);
      const context = `${stdout}\n${stderr}\nevidence: ${dir}\n${readFileSync(join(dir, 'harness.log'), 'utf8').slice(-4000)}`;
      expect(match, context).not.toBeNull();
      const [faults, activations, takeovers, writes, violations] = (match ?? []).slice(1, 6).map(Number);
      process.stdout.write(`${match?.[0]}\n`);
      expect(violations, context).toBe(0);
      expect(status, context).toBe(0);
      expect(faults).toBeGreaterThanOrEqual(30);
      expect(activations).toBeGreaterThanOrEqual(200);
      expect(takeovers).toBeGreaterThanOrEqual(10);
      expect(writes).toBeGreaterThan(activations ?? 0);
      // The peers took part: their activations, in the same histories the checker checked.
      const peers = PEERS.exec(stdout);
      process.stdout.write(`${peers?.[0]}\n`);
      expect(peers, context).not.toBeNull();
      const [lvmlockdActivations, , sanlockActivations] = (peers ?? []).slice(1, 5).map(Number);
      expect(lvmlockdActivations, context).toBeGreaterThanOrEqual(MIN_PEER_ACTIVATIONS);
      expect(sanlockActivations, context).toBeGreaterThanOrEqual(MIN_PEER_ACTIVATIONS);
      // Every kind of fault took part.
      const kinds = new Set(
        readHistoryDir(join(dir, 'history')).flatMap((event) => (event.kind === 'fault' ? [event.fault] : [])),
      );
      expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());
      rmSync(dir, { recursive: true, force: true });
    },
    RUN_MS + OVERHEAD_MS,
  );
});
