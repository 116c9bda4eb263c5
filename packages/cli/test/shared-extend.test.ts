/**
 * Shared extend (issue 13's must-show), real processes: three leasehold daemons (host_id 1-3, each
 * with its own device_dir and leasehold.conf) on one loop device, the loop backend, an LV active
 * `-asy` on all three. `lvextend` on host 1 resizes host 1's device at once and, through delta-lease
 * events, host 2's and 3's within seconds with no command run on them (their daemons run their own
 * `lvchange --refresh`); `lvs -o lock_refreshed` then shows all three at the new seqno, read from
 * their delta leases on disk. lvresize growing does the same.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLoopSet, type LoopSet } from '@leasehold/testkit';
import { CLI_PATH, TestDaemon, TestDir, waitFor } from '../../daemon/test/support/harness.js';

const MIB = 1024 * 1024;
const VG = 'extvg';
const LV = `${VG}/lv1`;
/** io_timeout 1: an event is written on the sender's next renewal (2 s) and seen at the receiver's (2 s). */
const IO_TIMEOUT_SECONDS = 1;
/** "Within a few seconds": two renewal intervals each way plus a refresh command, on a loaded machine. */
const REFRESH_DEADLINE_MS = 15_000;

interface Host {
  name: string;
  hostId: number;
  daemon: TestDaemon;
  deviceDir: string;
  env: NodeJS.ProcessEnv;
}

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

let dir: TestDir;
let loops: LoopSet;
let hosts: Host[] = [];

function lh(host: Host, args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { ...process.env, ...host.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

async function ok(host: Host, args: string[]): Promise<string> {
  const result = await lh(host, args);
  if (result.status !== 0)
    throw new Error(
      `${host.name}: leasehold ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

function makeHost(name: string, hostId: number): Host {
  const hostDir = dir.file(name);
  const deviceDir = `${hostDir}/dev`;
  mkdirSync(`${hostDir}/lock`, { recursive: true });
  mkdirSync(deviceDir, { recursive: true });
  const hostIdFile = `${hostDir}/host-id.conf`;
  writeFileSync(hostIdFile, `* = ${hostId}\n`);
  const conf = `${hostDir}/leasehold.conf`;
  writeFileSync(
    conf,
    `io_timeout = ${IO_TIMEOUT_SECONDS}\ndevices = ${loops.devices.join(', ')}\nlocking_dir = ${hostDir}/lock\nhost_id_file = ${hostIdFile}\n`,
  );
  const env = { LEASEHOLD_CONFIG: conf };
  const daemon = new TestDaemon(dir, {
    name,
    hostIdFile,
    ioTimeout: IO_TIMEOUT_SECONDS,
    logLevel: 'info',
    extraArgs: ['--activation-backend', 'loop', '--device-dir', deviceDir, '--host-name', name],
    // The default refresh_command (this leasehold's lvchange --refresh) reads this host's volume config.
    env,
  });
  return { name, hostId, daemon, deviceDir, env: { ...env, LEASEHOLD_SOCKET: daemon.socketPath } };
}

/** The size of the host's LV device (<device_dir>/VG/LV), from the kernel. */
function deviceSizeBytes(host: Host): number {
  const device = realpathSync(`${host.deviceDir}/${LV}`);
  const out = spawnSync('blockdev', ['--getsize64', device], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`blockdev ${device}: ${out.stderr}`);
  return Number(out.stdout.trim());
}

async function vgSeqno(host: Host): Promise<number> {
  return Number((await ok(host, ['vgs', '--noheadings', '-o', 'vg_seqno', VG])).trim());
}

async function refreshedColumn(host: Host): Promise<string> {
  return (await ok(host, ['lvs', '--noheadings', '-o', 'lv_name,lock_refreshed', LV])).trim().split(/\s+/).join(' ');
}

/** Grows the LV on host 1, then waits for every host's device to follow; returns each host's wait in ms. */
async function extendEverywhere(command: string[], sizeBytes: number): Promise<number[]> {
  const [host1] = hosts;
  if (host1 === undefined) throw new Error('no hosts');
  const started = Date.now();
  const out = await lh(host1, command);
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  // This host's device is resized before the command returns.
  expect(deviceSizeBytes(host1)).toBe(sizeBytes);
  return Promise.all(
    hosts
      .slice(1)
      .map((host) =>
        waitFor(
          `${host.name}'s device to reach ${sizeBytes} bytes`,
          () => (deviceSizeBytes(host) === sizeBytes ? Date.now() - started : undefined),
          REFRESH_DEADLINE_MS,
          100,
        ),
      ),
  );
}

beforeAll(async () => {
  dir = new TestDir();
  loops = makeLoopSet([400 * MIB]);
  hosts = [makeHost('host1', 1), makeHost('host2', 2), makeHost('host3', 3)];
  for (const host of hosts) await host.daemon.start();
  const [host1, ...others] = hosts as [Host, ...Host[]];
  await ok(host1, ['vgcreate', '--shared', VG, loops.devices[0] as string]);
  for (const host of others) await ok(host, ['lockstart', '--wait', VG]);
}, 180_000);

afterAll(async () => {
  // Devices first (the daemons made them), then the daemons, then the PV.
  for (const host of hosts) {
    await lh(host, ['vgchange', '-an', VG]).catch(() => undefined);
    await host.daemon.kill().catch(() => undefined);
  }
  loops?.cleanup();
  dir?.cleanup();
});

describe('lvextend of an LV active shared on three hosts (loop backend)', () => {
  it('every host device takes the new size within seconds, no command run there; lvs shows all refreshed', async () => {
    const [host1] = hosts as [Host, ...Host[]];
    await ok(host1, ['lvcreate', '-an', '-n', 'lv1', '-L', '8m', VG]);
    for (const host of hosts) await ok(host, ['lvchange', '-asy', LV]);
    for (const host of hosts) expect(deviceSizeBytes(host)).toBe(8 * MIB);
    // Nothing extended yet: the holders are listed, none has answered.
    expect(await refreshedColumn(host1)).toBe('lv1 1:-,2:-,3:-');

    const waits = await extendEverywhere(['lvextend', '-L', '+8m', LV], 16 * MIB);
    for (const ms of waits) expect(ms).toBeLessThan(REFRESH_DEADLINE_MS);
    const seqno = await vgSeqno(host1);
    // The answers reach the disk on each host's next renewal.
    await waitFor(
      'lvs to show all three holders refreshed',
      async () => ((await refreshedColumn(host1)) === `lv1 1:${seqno},2:${seqno},3:${seqno}` ? true : undefined),
      REFRESH_DEADLINE_MS,
      250,
    );
    // The same from another host, as lvm lays out a report: it is read from the delta leases on disk.
    const table = await ok(hosts[2] as Host, ['lvs', '-o', 'lv_name,lv_size,lock_refreshed', LV]);
    expect(table.split('\n').map((line) => line.trimEnd())).toEqual([
      '  LV   LSize  Refreshed',
      `  lv1  16.00m 1:${seqno},2:${seqno},3:${seqno}`,
      '',
    ]);
    // Each other daemon ran the refresh itself, once for this seqno (the event arrives several times).
    for (const host of hosts.slice(1)) {
      const activations = await host.daemon.with((client) => client.activations());
      expect(activations).toEqual([
        expect.objectContaining({
          lvName: 'lv1',
          mode: 'SH',
          mappingSeqno: seqno,
          device: expect.objectContaining({ sizeSectors: 32768 }),
        }),
      ]);
      const answered = host.daemon
        .log()
        .split('\n')
        .filter((line) => line.includes('shared extend: refreshed and answered'));
      expect(answered).toHaveLength(1);
    }
  }, 120_000);

  it('lvresize growing does the same from another host', async () => {
    const [, host2] = hosts as [Host, Host, Host];
    const before = await vgSeqno(host2);
    // Host 2 extends: host 1 and 3 follow.
    const started = Date.now();
    await ok(host2, ['lvresize', '-L', '24m', LV]);
    expect(deviceSizeBytes(host2)).toBe(24 * MIB);
    for (const host of [hosts[0], hosts[2]] as Host[]) {
      await waitFor(
        `${host.name}'s device to reach 24 MiB`,
        () => (deviceSizeBytes(host) === 24 * MIB ? true : undefined),
        REFRESH_DEADLINE_MS,
        100,
      );
    }
    expect(Date.now() - started).toBeLessThan(REFRESH_DEADLINE_MS + 5_000);
    const seqno = await vgSeqno(host2);
    expect(seqno).toBe(before + 1);
    await waitFor(
      'lvs to show all three holders at the new seqno',
      async () => ((await refreshedColumn(host2)) === `lv1 1:${seqno},2:${seqno},3:${seqno}` ? true : undefined),
      REFRESH_DEADLINE_MS,
      250,
    );
  }, 120_000);
});
