/**
 * The README's demo (`npm run demo` = build + scripts/demo.sh) keeps showing what it says: run for
 * real (root, the emulated cluster, loop devices, the real lvm), its key lines checked:
 * the refusal naming host1, both hosts seeing the extended LV by themselves, refusals while host1 is frozen and the
 * takeover after the deadline with host1 reset before it, host1's bytes read on host2, the real lvs
 * reading the VG, and nothing left behind. The timeline helper it uses is checked on planted logs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LVM_BINARY } from '@leasehold/testkit';
import { clusterSupported } from './support/cluster.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const DEMO = join(REPO, 'scripts', 'demo.sh');
const TIMELINE = join(REPO, 'scripts', 'lib', 'demo-timeline.mjs');
const DEMO_TIMEOUT_MS = 300_000;
/** Issue 15: the demo shows every step in under 2 minutes (about 35-50 s here). */
const DEMO_MAX_SECONDS = 120;
const MIB = 1024 * 1024;
/** The demo's timeouts: io_timeout 1, W 10, so the deadline is 8 x 1 + 10 s after the last renewal. */
const DEADLINE_SECONDS = 18;

const scratch: string[] = [];
afterAll(() => {
  for (const path of scratch) rmSync(path, { recursive: true, force: true });
});

function runDemo(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [DEMO], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** The text from `marker` to the next narration (a blank line, then `# ` lines). */
function section(output: string, marker: string): string {
  const start = output.indexOf(marker);
  if (start === -1) throw new Error(`the demo printed no "${marker}":\n${output}`);
  const end = output.indexOf('\n\n# ', start + marker.length);
  return output.slice(start, end === -1 ? undefined : end);
}

describe('npm run demo (scripts/demo.sh)', () => {
  it('runs where it can (root, emulated hosts, lvm2): never skipped', () => {
    expect(clusterSupported(), 'the demo needs root with unshare --pid --mount and nsenter').toBe(true);
    expect(existsSync(LVM_BINARY), `the demo's last step needs the real lvm (${LVM_BINARY})`).toBe(true);
  });

  it(
    'shows the mission: refusal naming host1, shared extend, fencing then takeover after the deadline, the real lvs',
    async () => {
      const startedMs = Date.now();
      const { code, output } = await runDemo();
      const elapsedSeconds = (Date.now() - startedMs) / 1000;
      process.stdout.write(`${output}\n(the demo took ${elapsedSeconds.toFixed(1)} s)\n`);
      expect(code, output).toBe(0);
      expect(elapsedSeconds).toBeLessThan(DEMO_MAX_SECONDS);

      const disk = /^shared disk: (\/dev\/loop\d+) \((.+)\)$/m.exec(output);
      expect(disk).not.toBeNull();
      const image = disk?.[2] ?? '';

      const refusal = section(output, '# host2 wants it too');
      expect(refusal).toContain('LV locked by other host: demovg/lv1');
      // UNKNOWN while host2 has not yet watched host1 renew for a whole interval (a loaded machine).
      expect(refusal).toMatch(/held by host_id 1 "host1" \(EX, (LIVE|UNKNOWN), last renewal [\d.]+ s ago\)/);
      expect(refusal).toContain('(exit status 5)');

      // Shared extend: both devices at the new size with no command run on host2, and lvs shows both
      // holders refreshed to the same VG seqno.
      const extend = section(output, '# host1 extends the LV');
      for (const host of ['host1', 'host2'])
        expect(extend).toMatch(new RegExp(`^${host}'s \\S+/${host}/dev/demovg/lv1: ${24 * MIB} bytes$`, 'm'));
      expect(extend).toMatch(/^both at the new size [\d.]+ s after the commit$/m);
      expect(extend).not.toContain('host2$');
      const refreshed = /^ +lv1 +24\.00m +1:(\d+),2:(\d+) *$/m.exec(section(output, '# lvs reads from the disk'));
      expect(refreshed?.[1]).toBeDefined();
      expect(refreshed?.[2]).toBe(refreshed?.[1]);

      // Refused while host1 is frozen (it still holds the lease), then activated.
      const attempts = [
        ...output.matchAll(
          /^\+\s*([\d.]+) s after the freeze {2}host2\$ .*: (refused, held by host_id 1 "host1" \((EX), (LIVE|FAIL)|activated)/gm,
        ),
      ];
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.at(-1)?.[2]).toBe('activated');
      expect(attempts.slice(0, -1).every((attempt) => attempt[2]?.startsWith('refused'))).toBe(true);

      // The timeline from host1's last renewal: reset before the deadline, the takeover ballot after it.
      const at = (label: string): number => {
        const row = new RegExp(`^\\s+\\+([\\d.]+) s {2}${label}`, 'm').exec(output);
        if (row === null) throw new Error(`no timeline row "${label}" in:\n${output}`);
        return Number(row[1]);
      };
      expect(at('L \\+ 8N \\+ W = the deadline')).toBe(DEADLINE_SECONDS);
      expect(at("host2's daemon starts the ballot")).toBeGreaterThanOrEqual(DEADLINE_SECONDS);
      expect(at("host1's watchdog fires")).toBeLessThan(DEADLINE_SECONDS);
      expect(at('host1 is reset')).toBeLessThan(DEADLINE_SECONDS);
      expect(output).toMatch(/^takeover [\d.]+ s after the deadline; host1 was reset [\d.]+ s before it$/m);
      expect(output).not.toContain('VIOLATION');
      expect(output).toMatch(/^host1 +no +- +- +disarmed +1 /m);
      expect(section(output, "host2$ sh -c 'dd if=")).toContain('written by host1 before it froze');

      // The real lvm reads the VG leasehold made.
      expect(output).toMatch(/^ +lv1 +demovg +24\.00m +-wi-XX---- +sanlock +1\.0\.0:\d+ *$/m);
      expect(output).toMatch(/^ +\[lvmlock\] +demovg +256\.00m /m);

      // Nothing left: no loop device over the image (the PV's, the LVs' over it), no directory.
      expect(output).toMatch(/^# cleaned up: hosts stopped, loop devices detached \(\d+ s in all\)$/m);
      expect(existsSync(image)).toBe(false);
      expect(spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout).not.toContain(image);
    },
    DEMO_TIMEOUT_MS,
  );
});

describe('the demo timeline helper', () => {
  /** A cluster directory with host1's last renewal at 100 s, its watchdog firing at `fireAt`, host2's ballot at `ballotAt`. */
  function plant(fireAt: number, ballotAt: number): string {
    const dir = mkdtempSync(join(tmpdir(), 'leasehold-demo-timeline-'));
    scratch.push(dir);
    mkdirSync(join(dir, 'host1'));
    mkdirSync(join(dir, 'host2'));
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }));
    const registration = (expiresAtSeconds: number) =>
      JSON.stringify({ msg: 'registration set', lockspace: 'lvm_vg', expiresAtSeconds });
    writeFileSync(join(dir, 'host1', 'companion.log'), `${registration(106)}\n${registration(108)}\n`);
    writeFileSync(
      join(dir, 'host1', 'watchdog-device-events.jsonl'),
      `${JSON.stringify({ type: 'fire', atSeconds: fireAt })}\n${JSON.stringify({ type: 'reset', atSeconds: fireAt + 0.05 })}\n`,
    );
    writeFileSync(
      join(dir, 'host2', 'daemon.log'),
      `${JSON.stringify({ msg: 'owner has not renewed for host_dead_seconds: ballot', waitStartSeconds: 100.5, issuedAtSeconds: ballotAt })}\n`,
    );
    return dir;
  }

  function timeline(dir: string): { status: number | null; stdout: string } {
    const result = spawnSync(process.execPath, [TIMELINE, 'takeover', dir, 'host1', 'host2', 'lvm_vg', '100.2'], {
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout };
  }

  it('prints the rows from the last renewal and accepts a takeover after the deadline', () => {
    const { status, stdout } = timeline(plant(110, 118.5));
    expect(status).toBe(0);
    expect(stdout).toContain('+18.00 s  L + 8N + W = the deadline');
    expect(stdout).toContain("+18.50 s  host2's daemon starts the ballot");
    expect(stdout).toContain("+10.00 s  host1's watchdog fires");
    expect(stdout).toContain('takeover 0.50 s after the deadline; host1 was reset 8.00 s before it');
  });

  it('exits 1 on a takeover before the deadline', () => {
    const { status, stdout } = timeline(plant(110, 117.9));
    expect(status).toBe(1);
    expect(stdout).toContain('VIOLATION: the takeover came 0.10 s before the deadline');
  });

  it('exits 1 when the watchdog fired after the deadline', () => {
    const { status, stdout } = timeline(plant(118.2, 119));
    expect(status).toBe(1);
    expect(stdout).toContain("VIOLATION: host1's watchdog did not fire before the deadline");
  });
});
