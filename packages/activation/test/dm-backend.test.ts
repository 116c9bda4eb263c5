/**
 * The dm backend against a recording dmsetup stand-in: the exact command sequence of activate,
 * refresh (suspend, reload, resume), deactivate and verify, and the tables it loads, checked
 * against the VG metadata by property. The PVs are real loop devices so tables name them by
 * major:minor as lvm's do.
 */
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '@fast-check/vitest';
import type { PhysicalVolume, VolumeGroup } from '@leasehold/lvm-format';
import type { LvMapping } from '@leasehold/protocol';
import { attachLoop, detachLoop, makeTempImage, type TempImage } from '@leasehold/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivationError,
  createBackend,
  createDmBackend,
  defaultBackendName,
  dmName,
  dmUuid,
  loopNameOf,
  loopStatus,
  lvMapping,
  noneBackend,
} from '../src/index.js';
import { type DmsetupStandin, makeDmsetupStandin, STANDIN_MAJOR } from './dmsetup-standin.js';
import { linear, pvOf, vgOf, vgWithLinearLv } from './vg-arbitrary.js';

const PV_COUNT = 4;
let images: TempImage[] = [];
let pvDevices: string[] = [];
/** "major:minor" of each PV device. */
let pvNumbers: string[] = [];
let standin: DmsetupStandin;
let deviceDir: string;

const pathOfPv = (pv: PhysicalVolume): string => pvDevices[Number(pv.key.slice(2))] ?? '';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof ActivationError ? error.code : `not an ActivationError: ${String(error)}`;
  }
  return undefined;
}

/** The table lines the metadata calls for: one per merged run, PVs by major:minor. */
function expectedTable(vg: VolumeGroup): string {
  const mapping = lvMapping(vg, 'lv1', pathOfPv);
  return mapping.segments
    .map(
      (s) =>
        `${s.lvStartSectors} ${s.lengthSectors} linear ${pvNumbers[pvDevices.indexOf(s.pvPath)]} ${s.pvOffsetSectors}\n`,
    )
    .join('');
}

beforeAll(async () => {
  for (let i = 0; i < PV_COUNT; i++) {
    const image = makeTempImage(1024 * 1024, `pv${i}.img`);
    images.push(image);
    pvDevices.push(attachLoop(image.path, 512));
  }
  pvNumbers = await Promise.all(
    pvDevices.map(async (d) => {
      const status = await loopStatus(loopNameOf(d) ?? '');
      return `${status?.major}:${status?.minor}`;
    }),
  );
  standin = makeDmsetupStandin();
  deviceDir = mkdtempSync(join(tmpdir(), 'leasehold-devdir-'));
});

afterAll(() => {
  for (const d of pvDevices) detachLoop(d);
  for (const image of images) image.cleanup();
  images = [];
  pvDevices = [];
  standin?.cleanup();
  if (deviceDir !== undefined) rmSync(deviceDir, { recursive: true, force: true });
});

describe('the dm backend (recording dmsetup stand-in)', () => {
  const twoSegments = (): VolumeGroup =>
    vgOf(2048, [pvOf(0, 2048, 100), pvOf(1, 2048, 100)], [linear(0, 10, 'pv0', 5), linear(10, 4, 'pv1', 0)], 'data-1');

  it('activate: info, then create with the uuid and the table on stdin, then info; the link points at /dev/mapper', async () => {
    const backend = createBackend('dm', { dmsetupPath: standin.path });
    const vg = twoSegments();
    const mapping = lvMapping(vg, 'data-1', pathOfPv);
    standin.clearLog();
    const device = await backend.activate(mapping, { deviceDir });
    const name = 'vg--a-data--1';
    expect(dmName(mapping.vgName, mapping.lvName)).toBe(name);
    const table = `0 20480 linear ${pvNumbers[0]} ${2048 + 5 * 2048}\n20480 8192 linear ${pvNumbers[1]} 2048\n`;
    expect(standin.log()).toEqual([
      `CALL info -c --noheadings -o major,minor --separator : ${name}`,
      `CALL create ${name} --uuid ${dmUuid(mapping)}`,
      ...table
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
      `CALL info -c --noheadings -o major,minor --separator : ${name}`,
    ]);
    expect(dmUuid(mapping)).toBe(`LVM-${vg.id}${vg.lvs[0]?.id}`);
    expect(standin.table(name)).toBe(table);
    expect(device).toEqual({
      backend: 'dm',
      devicePath: `/dev/mapper/${name}`,
      linkPath: join(deviceDir, 'vg-a', 'data-1'),
      major: STANDIN_MAJOR,
      minor: device.minor,
      sizeSectors: 14 * 2048,
    });
    expect(readlinkSync(join(deviceDir, 'vg-a', 'data-1'))).toBe(`/dev/mapper/${name}`);

    // Again with the same table: nothing is created or reloaded.
    standin.clearLog();
    expect(await backend.activate(mapping, { deviceDir })).toEqual(device);
    expect(standin.log().map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      'CALL info',
      'CALL table',
      'CALL info',
    ]);

    // verify: a fresh backend (a restarted daemon) finds the same device and table.
    const restarted = createDmBackend({ dmsetupPath: standin.path });
    expect(await restarted.verify(device, mapping, { deviceDir })).toBe(true);
    expect(await restarted.verify({ ...device, minor: (device.minor ?? 0) + 1 }, mapping, { deviceDir })).toBe(false);
  });

  it('refresh after an extend: suspend, reload with the new table, resume; a failed reload still resumes', async () => {
    const backend = createBackend('dm', { dmsetupPath: standin.path });
    const before = lvMapping(twoSegments(), 'data-1', pathOfPv);
    const device = await backend.activate(before, { deviceDir });
    const extended = twoSegments();
    extended.lvs[0]?.segments.push(linear(14, 6, 'pv0', 50));
    const after = lvMapping(extended, 'data-1', pathOfPv);
    const name = 'vg--a-data--1';
    expect(await createDmBackend({ dmsetupPath: standin.path }).verify(device, after, { deviceDir })).toBe(false);

    standin.clearLog();
    const refreshed = await backend.refresh(device, after, { deviceDir });
    const table = `${expectedTable({ ...extended, lvs: extended.lvs.map((l) => ({ ...l, name: 'lv1' })) })}`;
    expect(standin.log()).toEqual([
      `CALL info -c --noheadings -o major,minor --separator : ${name}`,
      `CALL suspend ${name}`,
      `CALL reload ${name}`,
      ...table
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
      `CALL resume ${name}`,
      `CALL info -c --noheadings -o major,minor --separator : ${name}`,
    ]);
    expect(table.split('\n')).toHaveLength(4);
    expect(standin.table(name)).toBe(table);
    expect(refreshed.sizeSectors).toBe(20 * 2048);
    expect(refreshed.minor).toBe(device.minor);

    standin.setFailReload(true);
    standin.clearLog();
    expect(await codeOf(backend.refresh(refreshed, before, { deviceDir }))).toBe('ACTIVATION_FAILED');
    standin.setFailReload(false);
    expect(
      standin
        .log()
        .filter((l) => l.startsWith('CALL'))
        .map((l) => l.split(' ')[1]),
    ).toEqual(['info', 'suspend', 'reload', 'resume']);
    expect(standin.isSuspended(name)).toBe(false);
    expect(standin.table(name)).toBe(table);
  });

  it('deactivate: remove and unlink; a busy device is ACTIVATION_BUSY and stays', async () => {
    const backend = createBackend('dm', { dmsetupPath: standin.path });
    const mapping = lvMapping(twoSegments(), 'data-1', pathOfPv);
    const device = await backend.activate(mapping, { deviceDir });
    const name = 'vg--a-data--1';
    standin.setBusy(name, true);
    expect(await codeOf(backend.deactivate(device, mapping, { deviceDir }))).toBe('ACTIVATION_BUSY');
    expect(standin.table(name)).not.toBeNull();
    expect(readlinkSync(join(deviceDir, 'vg-a', 'data-1'))).toBe(`/dev/mapper/${name}`);
    standin.setBusy(name, false);
    standin.clearLog();
    await backend.deactivate(device, mapping, { deviceDir });
    expect(standin.log()).toEqual([
      `CALL info -c --noheadings -o major,minor --separator : ${name}`,
      `CALL remove ${name}`,
    ]);
    expect(standin.table(name)).toBeNull();
    expect(existsSync(join(deviceDir, 'vg-a'))).toBe(false);
    expect(await backend.verify(device, mapping, { deviceDir })).toBe(false);
    // Deactivating what is not active is done at once.
    await backend.deactivate(device, mapping, { deviceDir });
    expect(await codeOf(backend.refresh(device, mapping, { deviceDir }))).toBe('ACTIVATION_FAILED');
  });

  it('refuses a PV that is not a block device, and creates nothing', async () => {
    const backend = createBackend('dm', { dmsetupPath: standin.path });
    const mapping = lvMapping(twoSegments(), 'data-1', (pv) =>
      pv.key === 'pv1' ? (images[1]?.path ?? '') : pathOfPv(pv),
    );
    standin.clearLog();
    expect(await codeOf(backend.activate(mapping, { deviceDir }))).toBe('ACTIVATION_FAILED');
    expect(standin.log()).toEqual([]);
  });

  it("without device-mapper every operation fails with dmsetup's words, and deactivate does not pretend", async () => {
    const backend = createBackend('dm', { dmsetupPath: standin.path });
    const mapping = lvMapping(twoSegments(), 'data-1', pathOfPv);
    const device = await backend.activate(mapping, { deviceDir });
    standin.setNoDeviceMapper(true);
    try {
      await expect(backend.activate(mapping, { deviceDir })).rejects.toThrow(/control: open failed/);
      expect(await codeOf(backend.activate(mapping, { deviceDir }))).toBe('ACTIVATION_FAILED');
      expect(await codeOf(backend.deactivate(device, mapping, { deviceDir }))).toBe('ACTIVATION_FAILED');
      expect(await codeOf(backend.refresh(device, mapping, { deviceDir }))).toBe('ACTIVATION_FAILED');
      expect(await codeOf(backend.verify(device, mapping, { deviceDir }))).toBe('ACTIVATION_FAILED');
      expect(readlinkSync(join(deviceDir, 'vg-a', 'data-1'))).toBe(device.devicePath);
    } finally {
      standin.setNoDeviceMapper(false);
    }
    await backend.deactivate(device, mapping, { deviceDir });
  });

  test.prop([vgWithLinearLv.filter((vg) => vg.pvs.length <= PV_COUNT)], { numRuns: 25 })(
    'the table loaded is, line by line, where the metadata puts each run',
    async (vg) => {
      const backend = createBackend('dm', { dmsetupPath: standin.path });
      const mapping: LvMapping = lvMapping(vg, 'lv1', pathOfPv);
      const device = await backend.activate(mapping, { deviceDir });
      const name = dmName(vg.name, 'lv1');
      const loaded = standin.table(name) ?? '';
      expect(loaded).toBe(expectedTable(vg));
      let next = 0;
      for (const line of loaded.trimEnd().split('\n')) {
        const [start, length, target, device, offset] = line
          .split(' ')
          .map((f, i) => (i === 2 || i === 3 ? f : Number(f)));
        expect(target).toBe('linear');
        expect(start).toBe(next);
        const le = Number(start) / vg.extentSizeSectors;
        const seg = vg.lvs[0]?.segments.find((s) => le >= s.startExtent && le < s.startExtent + s.extentCount);
        const pvIndex = Number(seg?.stripes[0]?.pvKey.slice(2));
        expect(device).toBe(pvNumbers[pvIndex]);
        const pv = vg.pvs[pvIndex];
        expect(offset).toBe(
          (pv?.peStartSectors ?? 0) +
            ((seg?.stripes[0]?.startPe ?? 0) + le - (seg?.startExtent ?? 0)) * vg.extentSizeSectors,
        );
        next += Number(length);
      }
      expect(next).toBe(mapping.sizeSectors);
      await backend.deactivate(device, mapping, { deviceDir });
      expect(standin.table(name)).toBeNull();
    },
  );
});

describe('createBackend and defaultBackendName', () => {
  it('dm where the device-mapper control node exists and the kernel lists the driver, loop elsewhere', () => {
    const withDm = join(deviceDir, 'misc-with-dm');
    const withoutDm = join(deviceDir, 'misc-without-dm');
    writeFileSync(withDm, '237 loop-control\n236 device-mapper\n');
    writeFileSync(withoutDm, '237 loop-control\n229 fuse\n');
    expect(defaultBackendName(join(deviceDir, 'no-such-control'), withDm)).toBe('loop');
    expect(defaultBackendName(deviceDir, withDm)).toBe('dm');
    expect(defaultBackendName(deviceDir, withoutDm)).toBe('loop');
    expect(defaultBackendName(deviceDir, join(deviceDir, 'no-such-misc'))).toBe('loop');
    const here = existsSync('/dev/mapper/control') && /\sdevice-mapper$/m.test(readFileSync('/proc/misc', 'utf8'));
    expect(defaultBackendName()).toBe(here ? 'dm' : 'loop');
  });

  it('makes each named backend', () => {
    expect(createBackend('dm').name).toBe('dm');
    expect(createBackend('loop').name).toBe('loop');
    expect(createBackend('none')).toBe(noneBackend);
  });
});
