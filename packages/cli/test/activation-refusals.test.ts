/**
 * LVs active on another host, between two real leasehold hosts (daemons host_id 1 and 2, activation
 * backend none) on loop devices. The other host activates the LV (lvchange -aey/-asy): lvremove,
 * lvreduce, lvextend, lvrename and vgremove are refused with lvm's exit status 5, naming the holder
 * (host_id, host name, mode, liveness, last renewal); lvs shows lock_holders from disk and lock_mode /
 * active of this host; SH on both hosts refuses the changes on either; held only here, a reduce of a
 * shared-active LV is refused and an EX-active LV may be resized; vgremove -f deactivates LVs active
 * only here, after every other check passed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLoopSet, type LoopSet } from '@leasehold/testkit';
import { CLI_PATH, TestDaemon, TestDir, waitSeesLive } from '../../daemon/test/support/harness.js';

const MIB = 1024 * 1024;
const VG = 'svAct';

interface Host {
  name: string;
  hostId: number;
  daemon: TestDaemon;
  env: NodeJS.ProcessEnv;
}

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

let dir: TestDir;
let loops: LoopSet;
let hostA: Host;
let hostB: Host;

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
  mkdirSync(`${hostDir}/lock`, { recursive: true });
  const hostIdFile = `${hostDir}/host-id.conf`;
  writeFileSync(hostIdFile, `* = ${hostId}\n`);
  const conf = `${hostDir}/leasehold.conf`;
  writeFileSync(
    conf,
    `io_timeout = 1\ndevices = ${loops.devices.join(', ')}\nlocking_dir = ${hostDir}/lock\nhost_id_file = ${hostIdFile}\n`,
  );
  const daemon = new TestDaemon(dir, { name, hostIdFile, logLevel: 'info', configText: 'activation_backend = none\n' });
  return { name, hostId, daemon, env: { LEASEHOLD_SOCKET: daemon.socketPath, LEASEHOLD_CONFIG: conf } };
}

/** Activates the LV on `host` (backend none: the lease only, held by the daemon). */
async function activate(host: Host, lvName: string, mode: 'EX' | 'SH'): Promise<void> {
  await ok(host, ['lvchange', mode === 'EX' ? '-aey' : '-asy', `${VG}/${lvName}`]);
}

async function deactivate(host: Host, lvName: string): Promise<void> {
  await ok(host, ['lvchange', '-an', `${VG}/${lvName}`]);
}

async function lvField(host: Host, field: string, lv: string): Promise<string> {
  return (await ok(host, ['lvs', '--noheadings', '-o', field, `${VG}/${lv}`])).trim();
}

function expectRefusedNaming(result: Result, lv: string, holder: RegExp): void {
  expect(result.status, result.stdout + result.stderr).toBe(5);
  expect(result.stderr).toContain(`LV locked by other host: ${VG}/${lv}`);
  expect(result.stderr).toMatch(holder);
}

beforeAll(async () => {
  dir = new TestDir();
  loops = makeLoopSet([400 * MIB]);
  hostA = makeHost('hostA', 1);
  hostB = makeHost('hostB', 2);
  await hostA.daemon.start();
  await hostB.daemon.start();
  const [d0] = loops.devices as [string];
  await ok(hostA, ['vgcreate', '--shared', VG, d0]);
  await ok(hostB, ['lockstart', '--wait', VG]);
  // The refusals below name each holder LIVE: each daemon must have seen the other renew.
  await waitSeesLive(hostA.env, `lvm_${VG}`, [2]);
  await waitSeesLive(hostB.env, `lvm_${VG}`, [1]);
  for (const lv of ['lv1', 'lv2', 'lv3']) await ok(hostA, ['lvcreate', '-an', '-n', lv, '-L', '8m', VG]);
}, 180_000);

afterAll(async () => {
  await hostA?.daemon.kill().catch(() => undefined);
  await hostB?.daemon.kill().catch(() => undefined);
  loops?.cleanup();
  dir?.cleanup();
});

describe('changes of an LV active on another host are refused, naming the holder', () => {
  it('EX on host 2: lvremove, lvreduce, lvrename and vgremove on host 1 fail with status 5', async () => {
    await activate(hostB, 'lv1', 'EX');
    // Host 1 names host 2 with its delta-lease name and liveness from host 1's daemon.
    const holder = /host_id 2 "[^"]+" \(EX, LIVE, last renewal \d+\.\d s ago\)/;
    expectRefusedNaming(await lh(hostA, ['lvremove', '-f', `${VG}/lv1`]), 'lv1', holder);
    expectRefusedNaming(await lh(hostA, ['lvreduce', '-f', '-L', '-4m', `${VG}/lv1`]), 'lv1', holder);
    expectRefusedNaming(await lh(hostA, ['lvrename', VG, 'lv1', 'renamed']), 'lv1', holder);
    const vgremove = await lh(hostA, ['vgremove', '-f', VG]);
    expectRefusedNaming(vgremove, 'lv1', holder);
    expect(vgremove.stderr).toContain(`Volume group "${VG}" not removed`);
    // Nothing changed: the LV is there with its size and name.
    expect(await lvField(hostA, 'lv_name,lv_size', 'lv1')).toMatch(/^lv1\s+8\.00m$/);
    // lvs: the holder from disk on both hosts; active only on host 2.
    expect(await lvField(hostA, 'lock_holders', 'lv1')).toBe('2:EX');
    expect(await lvField(hostA, 'lock_holders_long', 'lv1')).toMatch(/^2:EX:[^:]+:LIVE$/);
    expect(await lvField(hostA, 'lock_mode', 'lv1')).toBe('');
    expect(await lvField(hostA, 'active', 'lv1')).toBe('');
    expect(await lvField(hostA, 'lv_active_remotely', 'lv1')).toBe('active remotely');
    expect(await lvField(hostB, 'lock_mode', 'lv1')).toBe('EX');
    expect(await lvField(hostB, 'lv_active,lv_active_exclusively', 'lv1')).toMatch(/^active\s+active exclusively$/);
    expect(await lvField(hostB, 'lv_attr', 'lv1')).toBe('-wi-a-----');
    expect(await lvField(hostA, 'lv_attr', 'lv1')).toBe('-wi-------');
    // An LV nobody holds shows no holders.
    expect(await lvField(hostA, 'lock_holders', 'lv3')).toBe('');
    // JSON carries the same values.
    const json = JSON.parse(
      await ok(hostA, ['lvs', '--reportformat', 'json', '-o', 'lv_name,lock_holders,lock_mode,active', `${VG}/lv1`]),
    ) as { report: Array<{ lv: Array<Record<string, string>> }> };
    expect(json.report[0]?.lv[0]).toEqual({ lv_name: 'lv1', lv_lock_holders: '2:EX', lv_lock_mode: '', lv_active: '' });
    // Released on host 2: host 1 may remove it.
    await deactivate(hostB, 'lv1');
    expect(await lvField(hostA, 'lock_holders', 'lv1')).toBe('');
    await ok(hostA, ['lvremove', '-f', `${VG}/lv1`]);
  }, 120_000);

  it('SH on both hosts: changes on either are refused naming the other; held only here, a shared LV is not reduced', async () => {
    await activate(hostA, 'lv2', 'SH');
    await activate(hostB, 'lv2', 'SH');
    expect(await lvField(hostA, 'lock_holders', 'lv2')).toBe('1:SH,2:SH');
    expect(await lvField(hostA, 'lock_mode', 'lv2')).toBe('SH');
    expect(await lvField(hostA, 'lv_active,lv_active_exclusively', 'lv2')).toBe('active');
    expectRefusedNaming(
      await lh(hostA, ['lvreduce', '-f', '-L', '-4m', `${VG}/lv2`]),
      'lv2',
      /is active shared on host_id 2 "[^"]+" \(SH, LIVE/,
    );
    expectRefusedNaming(
      await lh(hostB, ['lvremove', '-f', `${VG}/lv2`]),
      'lv2',
      /is active shared on host_id 1 "[^"]+" \(SH, LIVE/,
    );
    // The refused lvremove -f on host 2 left its SH alone (lvm refuses before deactivating).
    expect(await lvField(hostA, 'lock_holders', 'lv2')).toBe('1:SH,2:SH');
    await deactivate(hostB, 'lv2');
    const reduce = await lh(hostA, ['lvreduce', '-f', '-L', '-4m', `${VG}/lv2`]);
    expect(reduce.status).toBe(5);
    expect(reduce.stderr).toContain(`Cannot reduce ${VG}/lv2: it is active shared on this host`);
    const rename = await lh(hostA, ['lvrename', VG, 'lv2', 'lv2b']);
    expect(rename.status).toBe(5);
    expect(rename.stderr).toContain(`Logical volume ${VG}/lv2 is active on this host (SH)`);
    const remove = await lh(hostA, ['lvremove', `${VG}/lv2`]);
    expect(remove.status).toBe(5);
    expect(remove.stderr).toContain(`Logical volume ${VG}/lv2 is active on this host`);
    await deactivate(hostA, 'lv2');
    await ok(hostA, ['lvreduce', '-f', '-L', '-4m', `${VG}/lv2`]);
  }, 120_000);

  it('EX here only: the LV may be resized here; another host is refused naming this one; vgremove -f deactivates it', async () => {
    await activate(hostA, 'lv3', 'EX');
    await ok(hostA, ['lvextend', '-L', '+4m', `${VG}/lv3`]);
    expect(await lvField(hostA, 'lv_size', 'lv3')).toBe('12.00m');
    expectRefusedNaming(
      await lh(hostB, ['lvreduce', '-f', '-L', '-4m', `${VG}/lv3`]),
      'lv3',
      /host_id 1 "[^"]+" \(EX, LIVE, last renewal/,
    );
    // An extend from host 2 is allowed: host 1, which has it active, refreshes (shared extend).
    await ok(hostB, ['lvextend', '-L', '+4m', `${VG}/lv3`]);
    expect(await lvField(hostA, 'lv_size', 'lv3')).toBe('16.00m');
    // Host 2 still has the lockspace: refused, and lv3 left active (nothing done before the checks).
    const early = await lh(hostA, ['vgremove', '-f', VG]);
    expect(early.status).toBe(5);
    expect(early.stderr).toContain(`Lockspace for "${VG}" not stopped on other hosts`);
    expect(await lvField(hostA, 'lock_mode', 'lv3')).toBe('EX');
    await ok(hostB, ['lockstop', '--wait', VG]);
    // Without -f an LV active here is named and kept.
    const kept = await lh(hostA, ['vgremove', '-y', VG]);
    expect(kept.status, kept.stdout + kept.stderr).toBe(5);
    expect(kept.stderr).toContain(`Logical volume ${VG}/lv3 is active on this host (EX)`);
    expect(kept.stderr).toContain(`Volume group "${VG}" not removed`);
    // -f deactivates it, then removes the VG.
    await ok(hostA, ['vgremove', '-f', VG]);
    expect(await hostA.daemon.with((client) => client.activations())).toEqual([]);
  }, 120_000);
});
