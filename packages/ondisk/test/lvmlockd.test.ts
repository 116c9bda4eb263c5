import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  FIRST_LV_SLOT,
  GL_SLOT,
  LVM_VALUE_BLOCK_VERSION,
  MIB,
  VG_SLOT,
  checkLvmValueBlockVersion,
  decodeLvmValueBlock,
  encodeLvmValueBlock,
  formatLvLockArgs,
  formatVgLockArgs,
  lockLvDevicePath,
  lockLvInitialBytes,
  lockspaceNamesCollide,
  lvSlotCount,
  lvSlotOfOffset,
  lvmLockspaceName,
  lvmlockGeometry,
  lvmlockInitialSlots,
  decodeLeader,
  parseLvLockArgs,
  parseVgLockArgs,
  sanlockLockspaceNameOfVg,
  slotKindOfName,
  slotOffsetBytes,
} from '../src/index.js';
import { expectOnDiskError } from './expect-error.js';

const VG_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_.-'.split('');
const vgName = (maxLength: number, minLength = 1) =>
  fc.array(fc.constantFrom(...VG_CHARS), { minLength, maxLength }).map((chars) => chars.join(''));

describe('lvmlock layout (lvmlockd-real.md, measured on lvm2 2.03.16)', () => {
  test('512-byte sectors: align 1 MiB, 256 MiB lvmlock, GL/VG/first LV at the offsets lvmlockd used', () => {
    const geometry = lvmlockGeometry(512);
    expect(geometry.alignBytes).toBe(MIB);
    expect(lockLvInitialBytes(geometry)).toBe(268435456);
    expect(slotOffsetBytes(GL_SLOT, geometry)).toBe(68157440);
    expect(slotOffsetBytes(VG_SLOT, geometry)).toBe(69206016);
    expect(slotOffsetBytes(FIRST_LV_SLOT, geometry)).toBe(70254592);
    expect(lvSlotCount(lockLvInitialBytes(geometry), geometry)).toBe(189);
    expect(slotOffsetBytes(255, geometry)).toBe(267386880);
  });

  test('4K sectors: align 8 MiB, 1 GiB lvmlock, 61 LV slots', () => {
    const geometry = lvmlockGeometry(4096);
    expect(geometry.alignBytes).toBe(8 * MIB);
    expect(lockLvInitialBytes(geometry)).toBe(1024 * MIB);
    expect(slotOffsetBytes(GL_SLOT, geometry)).toBe(520 * MIB);
    expect(slotOffsetBytes(VG_SLOT, geometry)).toBe(528 * MIB);
    expect(slotOffsetBytes(FIRST_LV_SLOT, geometry)).toBe(536 * MIB);
    expect(lvSlotCount(lockLvInitialBytes(geometry), geometry)).toBe(61);
    expect(lockLvInitialBytes(lvmlockGeometry(4096, 2 * MIB))).toBe(512 * MIB);
  });

  fcTest.prop([fc.constantFrom(512, 4096), fc.integer({ min: FIRST_LV_SLOT, max: 100_000 })])(
    'an LV slot offset maps back to its slot',
    (ss, slot) => {
      const geometry = lvmlockGeometry(ss);
      expect(lvSlotOfOffset(slotOffsetBytes(slot, geometry), geometry)).toBe(slot);
    },
  );

  fcTest.prop([fc.integer({ min: 0, max: 2 ** 40 })])('offsets that are not LV slots are refused', (offset) => {
    const geometry = lvmlockGeometry(512);
    const isSlot = offset % MIB === 0 && offset >= FIRST_LV_SLOT * MIB;
    if (isSlot) expect(lvSlotOfOffset(offset, geometry)).toBe(offset / MIB);
    else expectOnDiskError(() => lvSlotOfOffset(offset, geometry), 'LAYOUT_INVALID');
  });

  test('an offset past the end of lvmlock is refused when the size is given', () => {
    const geometry = lvmlockGeometry(512);
    expect(lvSlotOfOffset(255 * MIB, geometry, 256 * MIB)).toBe(255);
    expectOnDiskError(() => lvSlotOfOffset(256 * MIB, geometry, 256 * MIB), 'LAYOUT_INVALID');
  });

  test('resource names', () => {
    expect(slotKindOfName('GLLK')).toBe('gl-enabled');
    expect(slotKindOfName('_GLLK_disabled')).toBe('gl-disabled');
    expect(slotKindOfName('VGLK')).toBe('vg');
    expect(slotKindOfName('#unused')).toBe('unused');
    expect(slotKindOfName('Ozck4L-K3xB-guIE-awlZ-4Mcs-RZUM-eEaZlh')).toBe('lv');
  });
});

describe('lockspace names', () => {
  test('lvm_<vg>, device path with dm mangling', () => {
    expect(lvmLockspaceName('lktA')).toBe('lvm_lktA');
    expect(lockLvDevicePath('lktA')).toBe('/dev/mapper/lktA-lvmlock');
    expect(lockLvDevicePath('my-vg')).toBe('/dev/mapper/my--vg-lvmlock');
  });

  fcTest.prop([vgName(127)])('a VG name fits when lvm_<vg> fits 48 bytes, else NAME_TOO_LONG', (vg) => {
    if (vg.length <= 44) {
      expect(lvmLockspaceName(vg)).toBe(`lvm_${vg}`);
      expect(sanlockLockspaceNameOfVg(vg)).toBe(`lvm_${vg}`);
    } else {
      expectOnDiskError(() => lvmLockspaceName(vg), 'NAME_TOO_LONG');
      expect(sanlockLockspaceNameOfVg(vg)).toHaveLength(48);
    }
  });

  fcTest.prop([vgName(44), vgName(44)])('VG names of at most 44 characters never collide', (a, b) => {
    expect(lockspaceNamesCollide(a, b)).toBe(false);
  });

  fcTest.prop([vgName(44, 44), vgName(20), vgName(20)])(
    'longer names collide when their first 44 characters agree',
    (prefix, tailA, tailB) => {
      expect(lockspaceNamesCollide(prefix + tailA, prefix + tailB)).toBe(tailA !== tailB);
      expect(lockspaceNamesCollide(prefix, prefix + tailA)).toBe(true);
    },
  );
});

describe('lock_args', () => {
  test('the forms lvmlockd writes', () => {
    expect(formatVgLockArgs()).toBe('1.0.0:lvmlock');
    expect(parseVgLockArgs('1.0.0:lvmlock')).toEqual({
      version: { major: 1, minor: 0, patch: 0 },
      lockLvName: 'lvmlock',
      flags: [],
    });
    expect(formatLvLockArgs(70254592)).toBe('1.0.0:70254592');
    expect(parseLvLockArgs('1.0.0:70254592')).toEqual({
      version: { major: 1, minor: 0, patch: 0 },
      offsetBytes: 70254592,
    });
  });

  test('an unknown major version is refused (both VG and LV)', () => {
    expectOnDiskError(() => parseVgLockArgs('2.0.0:lvmlock:notimeout:persist'), 'LOCK_ARGS_VERSION');
    expectOnDiskError(() => parseLvLockArgs('2.0.0:70254592'), 'LOCK_ARGS_VERSION');
    expectOnDiskError(() => parseVgLockArgs('0.9.0:lvmlock'), 'LOCK_ARGS_VERSION');
    // minor and patch may move on
    expect(parseVgLockArgs('1.7.3:lvmlock').version).toEqual({ major: 1, minor: 7, patch: 3 });
  });

  test('garbage is refused', () => {
    for (const bad of [
      '',
      'lvmlock',
      '1.0:lvmlock',
      '1.0.0',
      '1.0.0:',
      'x.0.0:lvmlock',
      '1.0.0:lv mlock',
      'a'.repeat(65),
    ]) {
      expectOnDiskError(() => parseVgLockArgs(bad), 'LOCK_ARGS_INVALID');
    }
    for (const bad of ['', '1.0.0', '1.0.0:', '1.0.0:-1', '1.0.0:12a', '1.0.0:1:2', '1.0.0:99999999999999999']) {
      expectOnDiskError(() => parseLvLockArgs(bad), 'LOCK_ARGS_INVALID');
    }
  });

  fcTest.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })])('LV lock_args round-trip', (offset) => {
    const text = formatLvLockArgs(offset);
    if (String(offset).length <= 16) expect(parseLvLockArgs(text).offsetBytes).toBe(offset);
  });

  fcTest.prop([fc.string({ maxLength: 80 })])('parsing never throws anything but an OnDiskError', (text) => {
    for (const parse of [parseVgLockArgs, parseLvLockArgs]) {
      try {
        parse(text);
      } catch (error) {
        expect((error as { code?: string }).code).toMatch(/^LOCK_ARGS_/);
      }
    }
  });
});

describe('lvmlockd value block', () => {
  test('the bytes lvmlockd wrote into VGLK after seqno 5 (lvmlockd-real.md)', () => {
    const bytes = Uint8Array.from([0x01, 0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00]);
    expect(decodeLvmValueBlock(bytes)).toEqual({ version: LVM_VALUE_BLOCK_VERSION, flags: 0, rVersion: 5 });
    expect(encodeLvmValueBlock({ version: 0x0101, flags: 0, rVersion: 5 })).toEqual(bytes);
  });

  fcTest.prop([
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffffffff }),
  ])('round-trip', (version, flags, rVersion) => {
    const block = { version, flags, rVersion };
    expect(decodeLvmValueBlock(encodeLvmValueBlock(block))).toEqual(block);
  });

  test('a newer major version is refused, minor versions and empty blocks pass', () => {
    checkLvmValueBlockVersion({ version: 0, flags: 0, rVersion: 0 });
    checkLvmValueBlockVersion({ version: 0x0102, flags: 0, rVersion: 1 });
    expectOnDiskError(
      () => checkLvmValueBlockVersion({ version: 0x0201, flags: 0, rVersion: 1 }),
      'VALUE_BLOCK_VERSION',
    );
  });
});

describe('the initial lvmlock image', () => {
  test.each([
    ['enabled', 'GLLK'],
    ['disabled', '_GLLK_disabled'],
  ] as const)('global lock %s: lockspace, %s, VGLK, then #unused to the end', (globalLock, glName) => {
    const geometry = lvmlockGeometry(512);
    const slots = [
      ...lvmlockInitialSlots({ vgName: 'vg1', geometry, lockLvBytes: 256 * MIB, globalLock, ioTimeoutSeconds: 1 }),
    ];
    expect(slots).toHaveLength(3 + 189);
    expect(slots.map((slot) => slot.resourceName).slice(0, 4)).toEqual([null, glName, 'VGLK', '#unused']);
    expect(slots.at(-1)).toMatchObject({ slot: 255, offsetBytes: 255 * MIB, resourceName: '#unused' });
    for (const slot of slots) {
      expect(slot.bytes).toHaveLength(MIB);
      expect(slot.offsetBytes).toBe(slot.slot * MIB);
      const leader = decodeLeader(slot.bytes, 0);
      expect(leader.spaceName).toBe('lvm_vg1');
      expect(leader.resourceName).toBe(slot.resourceName ?? '');
      if (slot.slot === 0) expect(leader.ioTimeoutSeconds).toBe(1);
    }
  });
});
