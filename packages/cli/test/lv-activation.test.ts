/**
 * LV activation under leases (issue 13's first must-show), real processes: two leasehold daemons
 * (host_id 1 and 2, each with its own device_dir) on one loop device, the loop backend.
 * - `lvchange -aey` on host 1 gives `<device_dir>/<vg>/<lv>`, a block device of the LV's size whose
 *   bytes are the PV's bytes at the LV's extents; host 2's `-aey` is refused naming host 1; after
 *   host 1's `-an`, host 2 gets it;
 * - `-asy` on both works, and `-aey` on either is refused naming the other SH holder;
 * - `-an` is refused while a process has the device open;
 * - lvcreate activates by default, vgchange -a does a whole VG, --refresh follows an lvextend;
 * - the daemon SIGKILLed and restarted with an LV active: adopted, the device untouched, nobody else
 *   could take it meanwhile.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDirectDisk } from '@leasehold/disk/direct';
import { readVolumes } from '@leasehold/volume';
import { makeLoopSet, type LoopSet } from '@leasehold/testkit';
import { CLI_PATH, TestDaemon, TestDir, waitFor, waitSeesLive } from '../../daemon/test/support/harness.js';

const MIB = 1024 * 1024;
const VG = 'actvg';

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
let host1: Host;
let host2: Host;
const holders: ChildProcess[] = [];

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
    `io_timeout = 1\ndevices = ${loops.devices.join(', ')}\nlocking_dir = ${hostDir}/lock\nhost_id_file = ${hostIdFile}\n`,
  );
  const daemon = new TestDaemon(dir, {
    name,
    hostIdFile,
    logLevel: 'info',
    extraArgs: ['--activation-backend', 'loop', '--device-dir', deviceDir, '--host-name', name],
  });
  return { name, hostId, daemon, deviceDir, env: { LEASEHOLD_SOCKET: daemon.socketPath, LEASEHOLD_CONFIG: conf } };
}

/** The LV's extents on the PV, from the metadata: [PV byte offset, size]. */
async function lvPlace(lvName: string): Promise<{ offsetBytes: number; sizeBytes: number }> {
  const state = await readVolumes({ devices: loops.devices });
  const read = state.result.vgs.find((v) => v.name === VG);
  const lv = read?.vg.lvs.find((l) => l.name === lvName);
  const segment = lv?.segments[0];
  const pv = read?.vg.pvs.find((p) => p.key === segment?.stripes[0]?.pvKey);
  if (read === undefined || lv === undefined || segment === undefined || pv === undefined)
    throw new Error(`no LV ${lvName}`);
  expect(lv.segments).toHaveLength(1);
  const extentBytes = read.vg.extentSizeSectors * 512;
  return {
    offsetBytes: pv.peStartSectors * 512 + (segment.stripes[0]?.startPe ?? 0) * extentBytes,
    sizeBytes: segment.extentCount * extentBytes,
  };
}

function linkOf(host: Host, lvName: string): string {
  return `${host.deviceDir}/${VG}/${lvName}`;
}

/** The block device's size, from sysfs (st_size of a block device is 0). */
function blockSizeBytes(devicePath: string): number {
  const out = spawnSync('blockdev', ['--getsize64', devicePath], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`blockdev ${devicePath}: ${out.stderr}`);
  return Number(out.stdout.trim());
}

async function readAt(device: string, offsetBytes: number, lengthBytes: number): Promise<Buffer> {
  const disk = await openDirectDisk(device, { readOnly: true });
  try {
    return Buffer.from(await disk.read(offsetBytes, lengthBytes));
  } finally {
    await disk.close();
  }
}

async function writeAt(device: string, offsetBytes: number, data: Uint8Array): Promise<void> {
  const disk = await openDirectDisk(device);
  try {
    await disk.write(offsetBytes, data);
  } finally {
    await disk.close();
  }
}

beforeAll(async () => {
  dir = new TestDir();
  loops = makeLoopSet([400 * MIB]);
  host1 = makeHost('host1', 1);
  host2 = makeHost('host2', 2);
  await host1.daemon.start();
  await host2.daemon.start();
  await ok(host1, ['vgcreate', '--shared', VG, loops.devices[0] as string]);
  await ok(host2, ['lockstart', '--wait', VG]);
  // The refusals below name each holder LIVE: each daemon must have seen the other renew.
  await waitSeesLive(host1.env, `lvm_${VG}`, [2]);
  await waitSeesLive(host2.env, `lvm_${VG}`, [1]);
}, 180_000);

afterAll(async () => {
  for (const child of holders) child.kill('SIGKILL');
  // Devices first (the daemons made them), then the daemons, then the PV.
  for (const host of [host1, host2]) {
    if (host === undefined) continue;
    await lh(host, ['vgchange', '-an', VG]).catch(() => undefined);
    await host.daemon.kill().catch(() => undefined);
  }
  // Whatever a failed test left active: the loop devices over the PV.
  for (const pv of loops?.devices ?? []) {
    const listed = spawnSync('losetup', ['-j', pv], { encoding: 'utf8' }).stdout;
    for (const line of listed.split('\n')) {
      const device = line.split(':')[0] ?? '';
      if (device.startsWith('/dev/loop')) spawnSync('losetup', ['-d', device]);
    }
  }
  loops?.cleanup();
  dir?.cleanup();
});

describe('LV activation between two leasehold hosts (loop backend)', () => {
  it('-aey makes <device_dir>/VG/LV, the LV extents of the PV; the other host is refused naming the holder; -an frees it', async () => {
    await ok(host1, ['lvcreate', '-an', '-n', 'lv1', '-L', '8m', VG]);
    expect(await ok(host1, ['lvchange', '-aey', `${VG}/lv1`])).toBe('');
    const link = linkOf(host1, 'lv1');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const device = realpathSync(link);
    expect(statSync(device).isBlockDevice()).toBe(true);
    const place = await lvPlace('lv1');
    expect(blockSizeBytes(device)).toBe(place.sizeBytes);
    // Bytes written through the LV device are the PV's bytes at the LV's extents, and the reverse.
    const pattern = randomBytes(64 * 1024);
    await writeAt(link, MIB, pattern);
    expect((await readAt(loops.devices[0] as string, place.offsetBytes + MIB, pattern.length)).equals(pattern)).toBe(
      true,
    );
    const fromPv = randomBytes(4096);
    await writeAt(loops.devices[0] as string, place.offsetBytes + place.sizeBytes - 4096, fromPv);
    expect((await readAt(link, place.sizeBytes - 4096, 4096)).equals(fromPv)).toBe(true);

    const refused = await lh(host2, ['lvchange', '-aey', `${VG}/lv1`]);
    expect(refused.status).toBe(5);
    expect(refused.stderr).toContain(`LV locked by other host: ${VG}/lv1`);
    expect(refused.stderr).toMatch(/held by host_id 1 "host1" \(EX, LIVE, last renewal [\d.]+ s ago\)/);
    expect(refused.stderr).toContain(`Failed to lock logical volume ${VG}/lv1.`);
    expect(existsSync(linkOf(host2, 'lv1'))).toBe(false);

    await ok(host1, ['lvchange', '-an', `${VG}/lv1`]);
    expect(existsSync(link)).toBe(false);
    await ok(host2, ['activate', '-aey', `${VG}/lv1`]);
    // Host 2 sees what host 1 wrote.
    expect((await readAt(linkOf(host2, 'lv1'), MIB, pattern.length)).equals(pattern)).toBe(true);
    await ok(host2, ['activate', '-an', `${VG}/lv1`]);
    expect(existsSync(linkOf(host2, 'lv1'))).toBe(false);
  }, 120_000);

  it('-asy on both hosts; -aey on either is refused naming the other shared holder', async () => {
    await ok(host1, ['lvchange', '-asy', `${VG}/lv1`]);
    await ok(host2, ['lvchange', '-asy', `${VG}/lv1`]);
    expect(existsSync(linkOf(host1, 'lv1')) && existsSync(linkOf(host2, 'lv1'))).toBe(true);
    const from1 = await lh(host1, ['lvchange', '-aey', `${VG}/lv1`]);
    expect(from1.status).toBe(5);
    expect(from1.stderr).toContain(`LV locked by other host: ${VG}/lv1`);
    expect(from1.stderr).toMatch(/held by host_id 2 "host2" \(SH, LIVE/);
    const from2 = await lh(host2, ['lvchange', '-aey', `${VG}/lv1`]);
    expect(from2.status).toBe(5);
    expect(from2.stderr).toMatch(/held by host_id 1 "host1" \(SH, LIVE/);
    // Both still active shared.
    const list1 = await host1.daemon.with((client) => client.activations());
    expect(list1).toEqual([expect.objectContaining({ lvName: 'lv1', mode: 'SH' })]);
    await ok(host2, ['lvchange', '-an', `${VG}/lv1`]);
    // Alone now: SH converts to EX in place, the device stays.
    const before = realpathSync(linkOf(host1, 'lv1'));
    await ok(host1, ['lvchange', '-aey', `${VG}/lv1`]);
    expect(realpathSync(linkOf(host1, 'lv1'))).toBe(before);
    expect((await host1.daemon.with((client) => client.activations()))[0]?.mode).toBe('EX');
  }, 120_000);

  it('-an is refused while a process has the device open', async () => {
    const link = linkOf(host1, 'lv1');
    const holder = spawn('sh', ['-c', `exec 3<"${link}"; echo open; exec sleep 600`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    holders.push(holder);
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    const refused = await lh(host1, ['lvchange', '-an', `${VG}/lv1`]);
    expect(refused.status).toBe(5);
    expect(refused.stderr).toContain(`Logical volume ${VG}/lv1 in use.`);
    expect(refused.stderr).toContain(String(holder.pid));
    expect(existsSync(link)).toBe(true);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    await ok(host1, ['lvchange', '-an', `${VG}/lv1`]);
    expect(existsSync(link)).toBe(false);
  }, 60_000);

  it('lvcreate activates by default; vgchange -a does every LV; --refresh follows lvextend', async () => {
    await ok(host1, ['lvcreate', '-n', 'lv2', '-L', '4m', VG]);
    const lv2 = linkOf(host1, 'lv2');
    expect(existsSync(lv2)).toBe(true);
    expect((await readAt(lv2, 0, 4096)).equals(Buffer.alloc(4096))).toBe(true);
    const refused = await lh(host2, ['lvchange', '-asy', `${VG}/lv2`]);
    expect(refused.status).toBe(5);

    const down = await ok(host1, ['vgchange', '-an', VG]);
    expect(down).toContain(`0 logical volume(s) in volume group "${VG}" now active`);
    expect(existsSync(lv2)).toBe(false);
    const up = await ok(host2, ['vgchange', '-ay', VG]);
    expect(up).toContain(`2 logical volume(s) in volume group "${VG}" now active`);
    expect(existsSync(linkOf(host2, 'lv1')) && existsSync(linkOf(host2, 'lv2'))).toBe(true);
    await ok(host2, ['vgchange', '-an', VG]);

    // The last LV grows in place (one segment): lvextend refreshes the active device itself
    // (shared-extend.test.ts covers the other hosts), and --refresh again changes nothing.
    await ok(host1, ['lvcreate', '-n', 'lv3', '-L', '4m', VG]);
    expect(blockSizeBytes(realpathSync(linkOf(host1, 'lv3')))).toBe(4 * MIB);
    await ok(host1, ['lvextend', '-L', '+4m', `${VG}/lv3`]);
    expect(blockSizeBytes(realpathSync(linkOf(host1, 'lv3')))).toBe(8 * MIB);
    await ok(host1, ['lvchange', '--refresh', `${VG}/lv3`]);
    expect(blockSizeBytes(realpathSync(linkOf(host1, 'lv3')))).toBe(8 * MIB);
    expect((await host1.daemon.with((client) => client.activations())).find((a) => a.lvName === 'lv3')).toMatchObject({
      device: expect.objectContaining({ sizeSectors: 16384 }),
    });
    await ok(host1, ['lvchange', '-an', `${VG}/lv3`]);
  }, 120_000);

  it('bad input: clear lvm-style errors, exit 3 for the command line, 5 for a failure, nothing activated', async () => {
    const badValue = await lh(host1, ['lvchange', '-axy', `${VG}/lv1`]);
    expect(badValue.status).toBe(3);
    expect(badValue.stderr).toContain('Invalid argument for --activate: xy');
    const noChange = await lh(host1, ['lvchange', `${VG}/lv1`]);
    expect(noChange.status).toBe(3);
    const noLv = await lh(host1, ['activate', '-aey', VG]);
    expect(noLv.status).toBe(3);
    expect(noLv.stderr).toContain(`"${VG}": Invalid path for Logical Volume.`);
    const missing = await lh(host1, ['lvchange', '-aey', `${VG}/nosuch`]);
    expect(missing.status).toBe(5);
    expect(missing.stderr).toContain(`Failed to find logical volume "${VG}/nosuch"`);
    const hidden = await lh(host1, ['lvchange', '-aey', `${VG}/lvmlock`]);
    expect(hidden.status).toBe(5);
    expect(hidden.stderr).toContain(`Operation not permitted on hidden LV ${VG}/lvmlock.`);
    const noVg = await lh(host1, ['lvchange', '-aey', 'novg/lv1']);
    expect(noVg.status).toBe(5);
    expect(await host1.daemon.with((client) => client.activations())).toEqual([]);
  }, 60_000);

  it('daemon SIGKILL and restart with an LV active: adopted, the device untouched, nobody else could take it', async () => {
    await ok(host1, ['lvchange', '-aey', `${VG}/lv1`]);
    const link = linkOf(host1, 'lv1');
    const device = realpathSync(link);
    const target = readlinkSync(link);
    const marker = randomBytes(4096);
    await writeAt(link, 0, marker);

    await host1.daemon.kill('SIGKILL');
    // Host 2 tries while host 1's daemon is down and restarting (at once: the delta lease is resumed
    // only within 6 x io_timeout of its last renewal, after that a new generation joins).
    const meanwhileRun = lh(host2, ['lvchange', '-aey', `${VG}/lv1`]);
    // The device lives on without the daemon.
    expect((await readAt(link, 0, 4096)).equals(marker)).toBe(true);
    host1.daemon = new TestDaemon(dir, { ...host1.daemon.options, stateDir: host1.daemon.stateDir });
    await host1.daemon.start();
    const meanwhile = await meanwhileRun;
    expect(meanwhile.status).toBe(5);
    expect(meanwhile.stderr).toContain(`LV locked by other host: ${VG}/lv1`);
    expect(meanwhile.stderr).toContain('host_id 1');
    await waitFor('the activation to be adopted', () => {
      const log = host1.daemon.log();
      if (log.includes('cannot resume the delta lease'))
        throw new Error('the restart came too late to resume the delta lease (machine overloaded?)');
      return log.includes('adopted LV activation after restart') ? true : undefined;
    });
    expect(await host1.daemon.with((client) => client.activations())).toEqual([
      expect.objectContaining({ lvName: 'lv1', mode: 'EX', origin: 'adopted' }),
    ]);
    expect(readlinkSync(link)).toBe(target);
    expect(realpathSync(link)).toBe(device);
    expect((await readAt(link, 0, 4096)).equals(marker)).toBe(true);
    const still = await lh(host2, ['lvchange', '-aey', `${VG}/lv1`]);
    expect(still.status).toBe(5);
    await ok(host1, ['lvchange', '-an', `${VG}/lv1`]);
    await ok(host2, ['lvchange', '-aey', `${VG}/lv1`]);
    await ok(host2, ['lvchange', '-an', `${VG}/lv1`]);
  }, 120_000);

  it('-aey of an LV active here whose loop device went away meanwhile makes a device of its own, not the stale one', async () => {
    // A busy -an leaves the kernel to detach the loop device at its last close, and its number is
    // then free for another LV. The chaos run caught an LV's writes landing in another LV that way.
    const pv = loops.devices[0] as string;
    await ok(host1, ['lvcreate', '-an', '-n', 'lvstale', '-L', '4m', VG]);
    await ok(host1, ['lvcreate', '-an', '-n', 'lvother', '-L', '4m', VG]);
    await ok(host1, ['lvchange', '-aey', `${VG}/lvstale`]);
    const link = linkOf(host1, 'lvstale');
    const stale = realpathSync(link);
    const own = await lvPlace('lvstale');
    const other = await lvPlace('lvother');
    // Behind the daemon's back: the device detached, then bound to the other LV's extents.
    expect(spawnSync('losetup', ['-d', stale]).status).toBe(0);
    const rebound = spawnSync('losetup', [
      '--offset',
      String(other.offsetBytes),
      '--sizelimit',
      String(other.sizeBytes),
      stale,
      pv,
    ]);
    expect(rebound.status).toBe(0);
    try {
      await ok(host1, ['lvchange', '-aey', `${VG}/lvstale`]);
      expect(realpathSync(link)).not.toBe(stale);
      const marker = randomBytes(4096);
      await writeAt(link, 0, marker);
      expect((await readAt(pv, own.offsetBytes, 4096)).equals(marker)).toBe(true);
      expect((await readAt(pv, other.offsetBytes, 4096)).equals(marker)).toBe(false);
      expect(host1.daemon.log()).toContain('LV device no longer mapped the LV: made again');
      await ok(host1, ['lvchange', '-an', `${VG}/lvstale`]);
      expect(existsSync(link)).toBe(false);
    } finally {
      spawnSync('losetup', ['-d', stale]);
    }
  }, 120_000);

  it('vgremove -f deactivates the LVs active here first, then removes the VG and leaves its lockspace', async () => {
    await ok(host2, ['lockstop', '--wait', VG]);
    await ok(host1, ['lvchange', '-aey', `${VG}/lv1`]);
    const refused = await lh(host1, ['lvremove', `${VG}/lv1`]);
    expect(refused.status).toBe(5);
    expect(refused.stderr).toContain(`Logical volume ${VG}/lv1 is active on this host`);
    expect(existsSync(linkOf(host1, 'lv1'))).toBe(true);
    const removed = await ok(host1, ['vgremove', '-f', VG]);
    expect(removed).toContain(`Volume group "${VG}" successfully removed`);
    expect(existsSync(linkOf(host1, 'lv1'))).toBe(false);
    const status = await host1.daemon.with((client) => client.status());
    expect(status.activations).toEqual([]);
    expect(status.lockspaces).toEqual([]);
  }, 120_000);
});
