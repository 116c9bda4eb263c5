/**
 * The loop backend for real, over a VG the real lvm made on loop devices: lvMapping agrees with
 * `lvs`/`pvs`; the LV's device holds the PV's bytes at the LV's extents; refresh follows lvextend in
 * place; verify after a "restart"; multi-segment LVs are refused; openers are found through /proc.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alignedBuffer, loopSetSizeLimit } from '@leasehold/native';
import { makeLoopSet, makeLvmSandbox } from '@leasehold/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActiveDevice, LvMapping } from '@leasehold/protocol';
import {
  ActivationError,
  createBackend,
  findOpeners,
  loopNameOf,
  loopStatus,
  lvMapping,
  parseProcStat,
  splitDeviceNumber,
} from '../src/index.js';
import { lvmRuns, pvPaths, readVg, type RealVg } from './real-lvm.js';

const MIB = 1024 * 1024;
const VG = 'lhact';
const SECTOR = 512;

let real: RealVg;
let deviceDir: string;
const attached: string[] = [];
const children: ChildProcess[] = [];

function lvm(command: string, args: string[]): void {
  real.sandbox.ok(command, args, real.loops.devices);
}

function mappingOf(lvName: string): LvMapping {
  return lvMapping(readVg(real), lvName, pvPaths(real));
}

/** Reads `length` bytes at `offset` with O_DIRECT, so no page cache stands between the test and the device. */
function readDirect(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT);
  try {
    const buffer = alignedBuffer(length);
    expect(readSync(fd, buffer, 0, length, offset)).toBe(length);
    return Buffer.from(buffer);
  } finally {
    closeSync(fd);
  }
}

function writeDirect(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, constants.O_RDWR | constants.O_DIRECT);
  try {
    const buffer = alignedBuffer(data.length);
    data.copy(buffer);
    expect(writeSync(fd, buffer, 0, buffer.length, offset)).toBe(data.length);
  } finally {
    closeSync(fd);
  }
}

function pattern(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 131 + i * 7 + (i >> 9)) & 0xff;
  return out;
}

/** The PV byte that LV byte `lvOffset` lives at, by the mapping. */
function pvByteOf(mapping: LvMapping, lvOffset: number): { pvPath: string; offset: number } {
  const sector = Math.floor(lvOffset / SECTOR);
  const run = mapping.segments.find((s) => sector >= s.lvStartSectors && sector < s.lvStartSectors + s.lengthSectors);
  if (run === undefined) throw new Error(`LV byte ${lvOffset} is not mapped`);
  return { pvPath: run.pvPath, offset: (run.pvOffsetSectors - run.lvStartSectors) * SECTOR + lvOffset };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof ActivationError ? error.code : `not an ActivationError: ${String(error)}`;
  }
  return undefined;
}

function track(device: ActiveDevice): ActiveDevice {
  if (device.devicePath !== null && !attached.includes(device.devicePath)) attached.push(device.devicePath);
  return device;
}

beforeAll(() => {
  const sandbox = makeLvmSandbox();
  const loops = makeLoopSet([64 * MIB, 64 * MIB]);
  real = { sandbox, loops, name: VG };
  deviceDir = mkdtempSync(join(tmpdir(), 'leasehold-devdir-'));
  const [pv0 = '', pv1 = ''] = loops.devices;
  lvm('pvcreate', [pv0, pv1]);
  lvm('vgcreate', ['-s', '1m', VG, pv0, pv1]);
  // multi: PEs 0-2 and 4-6 of pv0 (blocker between them), then 2 PEs on pv1: three segments.
  lvm('lvcreate', ['-an', '-Zn', '-n', 'multi', '-l', '3', VG, pv0]);
  lvm('lvcreate', ['-an', '-Zn', '-n', 'blocker', '-l', '1', VG, pv0]);
  lvm('lvextend', ['-l', '+3', `${VG}/multi`, pv0]);
  lvm('lvextend', ['-l', '+2', `${VG}/multi`, pv1]);
  // single: 8 PEs on pv1 with free PEs after it, so an lvextend stays one segment.
  lvm('lvcreate', ['-an', '-Zn', '-n', 'single', '-l', '8', VG, pv1]);
  lvm('lvcreate', ['-an', '-Zn', '-n', 'second', '-l', '2', VG, pv0]);
}, 120_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const path of attached) {
    const name = loopNameOf(path);
    if (name !== null && existsSync(join('/sys/block', name, 'loop'))) spawnSync('losetup', ['-d', path]);
  }
  real?.loops.cleanup();
  real?.sandbox.cleanup();
  if (deviceDir !== undefined) rmSync(deviceDir, { recursive: true, force: true });
});

describe('lvMapping against the real lvm', () => {
  it('gives the runs lvs and pvs report (seg_start_pe, seg_pe_ranges, pe_start) for every LV', () => {
    const vg = readVg(real);
    const pathOf = pvPaths(real);
    const counts: Record<string, number> = {};
    for (const lv of vg.lvs) {
      const mapping = lvMapping(vg, lv.name, pathOf);
      expect(mapping.segments, lv.name).toEqual(lvmRuns(real, lv.name));
      counts[lv.name] = mapping.segments.length;
    }
    expect(counts).toEqual({ multi: 3, blocker: 1, single: 1, second: 1 });
  });
});

describe('the loop backend', () => {
  const backend = createBackend('loop');
  let device: ActiveDevice;
  let mapping: LvMapping;

  it('activates a single-segment LV: a loop device of its size with direct I/O, linked at <device_dir>/<vg>/<lv>', async () => {
    mapping = mappingOf('single');
    device = track(await backend.activate(mapping, { deviceDir }));
    expect(device.backend).toBe('loop');
    expect(device.linkPath).toBe(join(deviceDir, VG, 'single'));
    expect(readlinkSync(join(deviceDir, VG, 'single'))).toBe(device.devicePath);
    const name = loopNameOf(device.devicePath ?? '');
    expect(name).not.toBeNull();
    const status = await loopStatus(name ?? '');
    const [run] = mapping.segments;
    expect(status?.backingFile).toBe(run?.pvPath);
    expect(status?.offsetBytes).toBe((run?.pvOffsetSectors ?? -1) * SECTOR);
    expect(status?.sizeLimitBytes).toBe(8 * MIB);
    expect(device.sizeSectors).toBe((8 * MIB) / SECTOR);
    expect(readFileSync(join('/sys/block', name ?? '', 'loop', 'dio'), 'utf8').trim()).toBe('1');
    const rdev = splitDeviceNumber(statSync(device.devicePath ?? '', { bigint: true }).rdev);
    expect(rdev).toEqual({ major: device.major, minor: device.minor });
  });

  it("has the PV's bytes at the LV's extents: written through the LV, read from the PV, and back", () => {
    const lvPath = device.linkPath ?? '';
    for (const [i, offset] of [0, 3 * MIB + 4096, 8 * MIB - 65536].entries()) {
      const data = pattern(i + 1, 65536);
      writeDirect(lvPath, offset, data);
      const at = pvByteOf(mapping, offset);
      expect(readDirect(at.pvPath, at.offset, data.length).equals(data)).toBe(true);
    }
    const back = pattern(9, 4096);
    const at = pvByteOf(mapping, 5 * MIB);
    writeDirect(at.pvPath, at.offset, back);
    expect(readDirect(lvPath, 5 * MIB, 4096).equals(back)).toBe(true);
  });

  it('is idempotent: activating the active LV again gives the same device', async () => {
    const again = await backend.activate(mapping, { deviceDir });
    expect(again).toEqual(device);
  });

  it('refuses a multi-segment LV, saying to use the dm backend, and leaves nothing behind', async () => {
    const multi = mappingOf('multi');
    await expect(backend.activate(multi, { deviceDir })).rejects.toThrow(/activation_backend = dm/);
    expect(await codeOf(backend.activate(multi, { deviceDir }))).toBe('LV_MULTI_SEGMENT');
    expect(existsSync(join(deviceDir, VG, 'multi'))).toBe(false);
  });

  it('refresh after lvextend: the open device takes the new size in place and maps the new extents', async () => {
    const holder = openSync(device.devicePath ?? '', constants.O_RDONLY);
    try {
      lvm('lvextend', ['-l', '+8', `${VG}/single`, real.loops.devices[1] ?? '']);
      const grown = mappingOf('single');
      expect(grown.segments).toHaveLength(1);
      expect(grown.segments[0]?.pvOffsetSectors).toBe(mapping.segments[0]?.pvOffsetSectors);
      const refreshed = await backend.refresh(device, grown, { deviceDir });
      expect(refreshed.devicePath).toBe(device.devicePath);
      expect(refreshed.sizeSectors).toBe((16 * MIB) / SECTOR);
      const name = loopNameOf(device.devicePath ?? '') ?? '';
      expect((await loopStatus(name))?.sizeSectors).toBe((16 * MIB) / SECTOR);
      const tail = pattern(42, 65536);
      writeDirect(device.linkPath ?? '', 16 * MIB - tail.length, tail);
      const at = pvByteOf(grown, 16 * MIB - tail.length);
      expect(readDirect(at.pvPath, at.offset, tail.length).equals(tail)).toBe(true);
      device = refreshed;
      mapping = grown;

      // What the loop device cannot follow in place is refused, and the device stays as it was.
      const [run] = grown.segments;
      if (run === undefined) throw new Error('no run');
      const moved: LvMapping = { ...grown, segments: [{ ...run, pvOffsetSectors: run.pvOffsetSectors + 2048 }] };
      expect(await codeOf(backend.refresh(device, moved, { deviceDir }))).toBe('ACTIVATION_FAILED');
      const half = run.lengthSectors / 2;
      const split: LvMapping = {
        ...grown,
        sizeSectors: grown.sizeSectors + half,
        segments: [
          run,
          {
            ...run,
            lvStartSectors: run.lengthSectors,
            lengthSectors: half,
            pvOffsetSectors: run.pvOffsetSectors + 4 * run.lengthSectors,
          },
        ],
      };
      expect(await codeOf(backend.refresh(device, split, { deviceDir }))).toBe('LV_MULTI_SEGMENT');
      expect((await loopStatus(name))?.sizeSectors).toBe((16 * MIB) / SECTOR);
    } finally {
      closeSync(holder);
    }
  });

  it('verify after a restart: a fresh backend recognises the device, re-makes a lost link, and rejects other mappings', async () => {
    const restarted = createBackend('loop');
    expect(await restarted.verify(device, mapping, { deviceDir })).toBe(true);
    rmSync(device.linkPath ?? '');
    expect(await restarted.verify(device, mapping, { deviceDir })).toBe(true);
    expect(readlinkSync(device.linkPath ?? '')).toBe(device.devicePath);
    const smaller: LvMapping = {
      ...mapping,
      sizeSectors: mapping.sizeSectors / 2,
      segments: mapping.segments.map((s) => ({ ...s, lengthSectors: s.lengthSectors / 2 })),
    };
    expect(await restarted.verify(device, smaller, { deviceDir })).toBe(false);
    expect(await restarted.verify(device, mappingOf('second'), { deviceDir })).toBe(false);
    expect(await restarted.verify({ ...device, minor: (device.minor ?? 0) + 1000 }, mapping, { deviceDir })).toBe(
      false,
    );
  });

  it('finds the processes that have the device open, with pid, start time and comm', async () => {
    const fd = openSync(device.linkPath ?? '', constants.O_RDONLY);
    const child = spawn('sleep', ['60'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
    children.push(child);
    closeSync(fd);
    await new Promise((resolve) => child.once('spawn', resolve));
    const number = { major: device.major ?? -1, minor: device.minor ?? -1 };
    // exec may lag spawn: wait until the child is sleep (and so holds the fd as sleep)
    let openers = await findOpeners([number]);
    for (let i = 0; i < 50 && openers.find((o) => o.pid === child.pid)?.comm !== 'sleep'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      openers = await findOpeners([number]);
    }
    const stat = parseProcStat(readFileSync(`/proc/${child.pid}/stat`, 'utf8'));
    expect(openers).toEqual([{ pid: child.pid, startTime: stat?.startTime, comm: 'sleep' }]);
    expect(await findOpeners([{ major: number.major, minor: number.minor + 1000 }])).toEqual([]);
    expect(await findOpeners([])).toEqual([]);

    // Deactivating under an opener is refused before anything is detached, naming the opener.
    await expect(backend.deactivate(device, mapping, { deviceDir })).rejects.toThrow(
      `open by process ${child.pid} (sleep)`,
    );
    expect(await codeOf(backend.deactivate(device, mapping, { deviceDir }))).toBe('ACTIVATION_BUSY');
    expect(await loopStatus(loopNameOf(device.devicePath ?? '') ?? '')).toMatchObject({ sizeLimitBytes: 16 * MIB });
    expect(readlinkSync(device.linkPath ?? '')).toBe(device.devicePath);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await backend.deactivate(device, mapping, { deviceDir });
    expect(await loopStatus(loopNameOf(device.devicePath ?? '') ?? '')).toBeNull();
    expect(existsSync(device.linkPath ?? '')).toBe(false);
    expect(existsSync(join(deviceDir, VG))).toBe(false);
    expect(await restartedVerify(device, mapping)).toBe(false);
  });

  it('deactivate leaves alone a loop device that now maps something else (its number reused after a reboot)', async () => {
    const second = mappingOf('second');
    const active = track(await backend.activate(second, { deviceDir }));
    expect(active.backingFile).toBe(second.segments[0]?.pvPath);
    expect(active.offsetBytes).toBe((second.segments[0]?.pvOffsetSectors ?? -1) * SECTOR);
    await backend.deactivate({ ...active, offsetBytes: (active.offsetBytes ?? 0) + MIB }, second, { deviceDir });
    expect(await loopStatus(loopNameOf(active.devicePath ?? '') ?? '')).not.toBeNull();
    expect(existsSync(active.linkPath ?? '')).toBe(false);
    await backend.deactivate(active, second, { deviceDir });
    expect(await loopStatus(loopNameOf(active.devicePath ?? '') ?? '')).toBeNull();
  });

  it('deactivate refuses a device held exclusively (as a mount holds it) and then detaches it', async () => {
    const second = mappingOf('second');
    const active = track(await backend.activate(second, { deviceDir }));
    const script = `const fs = require('node:fs'); fs.openSync(${JSON.stringify(active.devicePath)}, fs.constants.O_RDONLY | fs.constants.O_EXCL); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise((resolve) => child.stdout?.once('data', resolve));
    expect(await codeOf(backend.deactivate(active, second, { deviceDir }))).toBe('ACTIVATION_BUSY');
    expect(await loopStatus(loopNameOf(active.devicePath ?? '') ?? '')).not.toBeNull();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await backend.deactivate(active, second, { deviceDir });
    expect(await loopStatus(loopNameOf(active.devicePath ?? '') ?? '')).toBeNull();
    expect(existsSync(active.linkPath ?? '')).toBe(false);
  });
});

async function restartedVerify(device: ActiveDevice, mapping: LvMapping): Promise<boolean> {
  return createBackend('loop').verify(device, mapping, { deviceDir });
}

describe('the native loop resize', () => {
  it('refuses a descriptor that is not a loop device (ENOTTY), without touching it', async () => {
    const fd = openSync(real.loops.images[0] ?? '', constants.O_RDONLY);
    try {
      await expect(loopSetSizeLimit(fd, MIB)).rejects.toMatchObject({ code: 'ENOTTY' });
    } finally {
      closeSync(fd);
    }
  });
});
