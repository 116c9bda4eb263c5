/** Label, mda_header, CRC, UUID, names, circular buffer and layout: vectors from the spec and fast-check properties. */
import { crc32 as referenceCrc32 } from '@node-rs/crc32';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  copyRanges,
  decodeLabelSector,
  decodeMdaHeader,
  encodeLabel,
  encodeMdaHeader,
  formatUuid,
  freshMdaHeader,
  generateUuid,
  isValidLvName,
  isValidVgName,
  lvmCrc,
  lvmCrcPortable,
  NATIVE_CRC_MIN_BYTES,
  maxTextSizeBytes,
  type MdaHeader,
  nextCopyOffset,
  parseUuid,
  peCountFor,
  placeCopy,
  type PvLabel,
  pvLayout,
  scanLabel,
  UUID_ALPHABET,
} from '../src/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
/** lvm's CRC from a zlib-style CRC-32 that inverts on entry and exit (spec 1.3). */
const referenceLvm = (data: Uint8Array, init = 0xf597a6cf): number => ~referenceCrc32(data, ~init >>> 0) >>> 0;

describe('LVM CRC', () => {
  it('matches the spec vectors', () => {
    expect(lvmCrc(new Uint8Array(0))).toBe(0xf597a6cf);
    expect(lvmCrc(ascii('123456789'))).toBe(0x4991cf02);
    expect(lvmCrc(new Uint8Array(492))).toBe(0x02c81f10);
    expect(lvmCrc(new Uint8Array(508))).toBe(0x6702d122);
    const header = encodeMdaHeader(freshMdaHeader(4096, 1044480));
    expect(lvmCrc(header.subarray(4))).toBe(0xdb8ed616);
    expect(Array.from(header.subarray(0, 4))).toEqual([0x16, 0xd6, 0x8e, 0xdb]);
  });
  test.prop([fc.uint8Array({ maxLength: 2000 })])('equals the zlib identity', (data) => {
    expect(lvmCrc(data)).toBe(referenceLvm(data));
  });
  test.prop([fc.uint8Array({ minLength: NATIVE_CRC_MIN_BYTES, maxLength: 12_288 }), fc.nat()])(
    'the native path equals the table loop, from any initial value',
    (data, initial) => {
      expect(lvmCrc(data, initial >>> 0)).toBe(lvmCrcPortable(data, initial >>> 0));
      expect(lvmCrc(data, initial >>> 0)).toBe(referenceLvm(data, initial >>> 0));
    },
  );
  test.prop([fc.uint8Array({ maxLength: 500 }), fc.uint8Array({ maxLength: 500 })])(
    'chains over split data',
    (a, b) => {
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      expect(lvmCrc(b, lvmCrc(a))).toBe(lvmCrc(joined));
    },
  );
});

const uuidArb = fc
  .array(fc.constantFrom(...UUID_ALPHABET.split('')), { minLength: 32, maxLength: 32 })
  .map((c) => c.join(''));
const locnArb = fc.record({
  offsetBytes: fc.integer({ min: 1, max: 2 ** 40 }),
  sizeBytes: fc.integer({ min: 0, max: 2 ** 40 }),
});
const labelArb: fc.Arbitrary<PvLabel> = fc.record({
  sector: fc.integer({ min: 0, max: 3 }),
  pvId: uuidArb,
  deviceSizeBytes: fc.integer({ min: 0, max: 2 ** 50 }),
  dataAreas: fc.array(locnArb, { minLength: 1, maxLength: 3 }),
  metadataAreas: fc.array(locnArb, { maxLength: 2 }),
  extensionVersion: fc.constantFrom(1, 2),
  extensionFlags: fc.integer({ min: 0, max: 0xffffffff }),
  bootloaderAreas: fc.array(locnArb, { maxLength: 2 }),
});

describe('label', () => {
  test.prop([labelArb])('encode/decode round trip', (label) => {
    const sector = encodeLabel(label);
    const result = decodeLabelSector(sector, label.sector);
    expect(result).toEqual({ kind: 'label', label });
  });
  test.prop([labelArb, fc.integer({ min: 20, max: 511 }), fc.integer({ min: 1, max: 255 })])(
    'any flipped byte in the CRC range is rejected',
    (label, at, xor) => {
      const sector = encodeLabel(label);
      sector[at] = (sector[at] as number) ^ xor;
      const result = decodeLabelSector(sector, label.sector);
      expect(result.kind).toBe('bad');
    },
  );
  it('matches the spec hexdump A1 (CRC 0x8c574489, ext flags USED)', () => {
    const label: PvLabel = {
      sector: 1,
      pvId: '6S4NPu3FW3MTG354BXRj0P0CLBdQwbMF',
      deviceSizeBytes: 0x08000000,
      dataAreas: [{ offsetBytes: 0x100000, sizeBytes: 0 }],
      metadataAreas: [{ offsetBytes: 0x1000, sizeBytes: 0xff000 }],
      extensionVersion: 2,
      extensionFlags: 1,
      bootloaderAreas: [],
    };
    const sector = encodeLabel(label);
    expect(new DataView(sector.buffer).getUint32(16, true)).toBe(0x8c574489);
    expect(sector[156]).toBe(0);
    expect(new DataView(sector.buffer).getUint32(140, true)).toBe(1);
    const orphan = encodeLabel({ ...label, extensionFlags: 0 });
    expect(new DataView(orphan.buffer).getUint32(16, true)).toBe(0x8d1eb167);
  });
  it("keeps lvm's LABELONE quirk and rejects a wrong sector_xl", () => {
    const label: PvLabel = {
      sector: 1,
      pvId: 'a'.repeat(32),
      deviceSizeBytes: 1 << 30,
      dataAreas: [{ offsetBytes: 1 << 20, sizeBytes: 0 }],
      metadataAreas: [],
      extensionVersion: 2,
      extensionFlags: 0,
      bootloaderAreas: [],
    };
    const sector = encodeLabel(label);
    const quirk = sector.slice();
    quirk[0] = 0x4d; // LABELONE broken: lvm skips the CRC and sector checks
    quirk[40] = 0x62; // and a wrong CRC
    expect(decodeLabelSector(quirk, 1).kind).toBe('label');
    expect(decodeLabelSector(sector, 2)).toMatchObject({
      kind: 'bad',
      reason: 'Label for sector 1 found at sector 2 - ignoring.',
    });
    const head = new Uint8Array(2048);
    head.set(sector, 512);
    head.set(encodeLabel({ ...label, sector: 3 }), 1536);
    const scan = scanLabel(head);
    expect(scan.label?.sector).toBe(1);
    expect(scan.warnings).toEqual(['Ignoring additional label on device at sector 3']);
  });
});

const slotArb = fc.record({
  offsetBytes: fc.integer({ min: 0, max: 2 ** 40 }),
  sizeBytes: fc.integer({ min: 0, max: 2 ** 40 }),
  checksum: fc.integer({ min: 0, max: 0xffffffff }),
  flags: fc.integer({ min: 0, max: 0xffffffff }),
});
const headerArb: fc.Arbitrary<MdaHeader> = fc.record({
  startBytes: fc.integer({ min: 0, max: 2 ** 45 }),
  sizeBytes: fc.integer({ min: 0, max: 2 ** 40 }),
  committed: slotArb,
  precommitted: slotArb,
});

describe('mda_header and raw_locn', () => {
  test.prop([headerArb])('encode/decode round trip', (header) => {
    const decoded = decodeMdaHeader(encodeMdaHeader(header), header.startBytes, '/dev/x');
    expect(decoded).toEqual({ ok: true, header });
  });
  test.prop([headerArb, fc.integer({ min: 0, max: 511 }), fc.integer({ min: 1, max: 255 })])(
    'any flipped byte is reported with device and offset',
    (header, at, xor) => {
      const sector = encodeMdaHeader(header);
      sector[at] = (sector[at] as number) ^ xor;
      const decoded = decodeMdaHeader(sector, header.startBytes, '/dev/x');
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) expect(decoded.problems[0]).toMatch(new RegExp(`on /dev/x at ${header.startBytes}`));
    },
  );
  it('names the wrong start sector', () => {
    const decoded = decodeMdaHeader(encodeMdaHeader(freshMdaHeader(4096, 1044480)), 8192, '/dev/y');
    expect(decoded).toEqual({ ok: false, problems: ['wrong start sector 4096 in mda header on /dev/y at 8192'] });
  });
});

describe('UUIDs and names', () => {
  test.prop([fc.uint8Array({ minLength: 32, maxLength: 32 })])(
    'generated UUIDs use 62 characters and round-trip through the dashed form',
    (bytes) => {
      const raw = generateUuid(() => bytes);
      expect(raw).toMatch(/^[0-9a-zA-Z]{32}$/);
      const dashed = formatUuid(raw);
      expect(dashed).toMatch(/^.{6}-.{4}-.{4}-.{4}-.{4}-.{4}-.{6}$/);
      expect(parseUuid(dashed)).toBe(raw);
    },
  );
  it('rejects bad UUIDs with lvm wording', () => {
    expect(() => parseUuid('Ko35iR-wV7y-VNtn-nhNN-CYDq-Rdk0-pz7eR*')).toThrow("UUID contains invalid character '*'");
    expect(parseUuid('Ko35iRwV7yVNtn-nhNNCYDqRdk0pz7e!#')).toBe('Ko35iRwV7yVNtnnhNNCYDqRdk0pz7e!#');
  });
  it('follows lvm name rules', () => {
    for (const good of ['vg0', 'a.b-c+d_e', 'x'.repeat(127)]) expect(isValidVgName(good)).toBe(true);
    for (const bad of ['', '-vg', '.', '..', 'a b', 'a/b', 'x'.repeat(128), 'é'])
      expect(isValidVgName(bad)).toBe(false);
    expect(isValidLvName('lvol0')).toBe(true);
    for (const bad of ['pvmove0', 'snapshot1', 'a_rimage_0', 'x_tmeta', 'foo_cdata', 'a_imeta', 'a_iorig'])
      expect(isValidLvName(bad)).toBe(false);
    // checked against lvm 2.03.16: these are allowed
    for (const good of ['lvmlock', 'a_tpool']) expect(isValidLvName(good)).toBe(true);
    for (const good of ['lvm', 'dev', 'a_rimage']) expect(isValidVgName(good)).toBe(true);
  });
});

describe('circular buffer', () => {
  it('follows the verified placements (spec 2.2)', () => {
    expect(nextCopyOffset(undefined, 1044480)).toBe(512);
    expect(nextCopyOffset({ offsetBytes: 512, sizeBytes: 725 }, 1044480)).toBe(1536);
    expect(nextCopyOffset({ offsetBytes: 31232, sizeBytes: 4112 }, 32768)).toBe(3584);
    expect(maxTextSizeBytes(1044480)).toBe(521472);
    const text = new Uint8Array(4112).map((_, i) => (i * 7) & 0xff);
    const placed = placeCopy(text, { offsetBytes: 29696, sizeBytes: 1400 }, 32768, 'vg');
    expect(placed.locn.offsetBytes).toBe(31232);
    expect(placed.writes.map((w) => [w.offsetBytes, w.data.length])).toEqual([
      [31232, 1536],
      [512, 3072],
    ]);
    expect(placed.locn.checksum).toBe(lvmCrc(text.subarray(1536), lvmCrc(text.subarray(0, 1536))));
  });
  test.prop([
    fc.integer({ min: 64, max: 4096 }).map((k) => k * 512),
    fc.nat(),
    fc.nat(),
    fc.integer({ min: 1, max: 40 }),
  ])(
    'a new copy never overlaps the old one, stays in the buffer, and wraps at the end',
    (mdaSize, offsetSeed, sizeSeed, steps) => {
      const limit = maxTextSizeBytes(mdaSize);
      let old = { offsetBytes: 512 + (offsetSeed % ((mdaSize - 512) / 512)) * 512, sizeBytes: 1 + (sizeSeed % limit) };
      for (let i = 0; i < steps; i++) {
        const size = 1 + ((sizeSeed * (i + 3)) % limit);
        const placed = placeCopy(new Uint8Array(size), old, mdaSize, 'vg');
        const ranges = copyRanges(placed.locn, mdaSize);
        for (const [s, e] of ranges) {
          expect(s).toBeGreaterThanOrEqual(512);
          expect(e).toBeLessThanOrEqual(mdaSize);
          for (const [os, oe] of copyRanges(old, mdaSize)) expect(s < oe && os < e).toBe(false);
        }
        expect(placed.locn.offsetBytes % 512).toBe(0);
        expect(placed.writes.reduce((n, w) => n + w.data.length, 0) % 512).toBe(0);
        old = placed.locn;
      }
    },
  );
  it('refuses a copy over the size limit as MDA_FULL', () => {
    expect(() => placeCopy(new Uint8Array(maxTextSizeBytes(32768) + 1), undefined, 32768, 'vg0')).toThrow(
      /exceeds maximum metadata size/,
    );
  });
});

describe('pvcreate layout (spec 4.2)', () => {
  it('reproduces the verified layouts', () => {
    expect(pvLayout({ deviceSizeBytes: 1 << 30 })).toEqual({
      peStartBytes: 1 << 20,
      metadataAreas: [{ offsetBytes: 4096, sizeBytes: 1044480 }],
      mda2SizeBytes: 0,
    });
    expect(pvLayout({ deviceSizeBytes: 1 << 30, metadataSizeBytes: 2 << 20 }).metadataAreas[0]).toEqual({
      offsetBytes: 4096,
      sizeBytes: 3141632,
    });
    expect(pvLayout({ deviceSizeBytes: 1 << 30, dataAlignmentBytes: 4 << 20 }).metadataAreas[0]).toEqual({
      offsetBytes: 4096,
      sizeBytes: 4190208,
    });
    expect(
      pvLayout({ deviceSizeBytes: 1 << 30, metadataSizeBytes: 100 * 1024, dataAlignmentBytes: 64 * 1024 }),
    ).toMatchObject({ peStartBytes: 131072, metadataAreas: [{ offsetBytes: 4096, sizeBytes: 126976 }] });
    expect(pvLayout({ deviceSizeBytes: 64 << 20, metadataSizeBytes: 32768, dataAlignmentBytes: 4096 })).toMatchObject({
      peStartBytes: 36864,
      metadataAreas: [{ offsetBytes: 4096, sizeBytes: 32768 }],
    });
    const two = pvLayout({ deviceSizeBytes: 512 << 20, metadataCopies: 2 });
    expect(two.metadataAreas[1]).toEqual({ offsetBytes: 535822336, sizeBytes: 1048576 });
    expect(peCountFor(512 << 20, two.peStartBytes, two.mda2SizeBytes, 16384)).toBe(63);
    expect(peCountFor(1 << 30, 1 << 20, 0, 8192)).toBe(255);
    expect(peCountFor(300 << 20, 1 << 20, 0, 16384)).toBe(37);
  });
});

describe('name errors in lvm 2.03.16 wording', () => {
  it('says what lvm says', async () => {
    const { assertLvName, assertVgName } = await import('../src/index.js');
    expect(() => assertVgName('a b')).toThrow(
      'Name contains invalid character, valid set includes: [a-zA-Z0-9.-_+]. New volume group name "a b" is invalid.',
    );
    expect(() => assertVgName('..')).toThrow(
      'Name starts with . or .. and has no following character(s). New volume group name ".." is invalid.',
    );
    expect(() => assertVgName('x'.repeat(128))).toThrow(/^Name length exceeds maximum limit of 127\./);
    expect(() => assertLvName('a b')).toThrow('Logical volume name "a b" is invalid.');
    expect(() => assertLvName('snapshotx')).toThrow(
      'Names starting "snapshot" are reserved. Please choose a different LV name.',
    );
    expect(() => assertLvName('a_rimage')).toThrow(
      'Names including "_rimage" are reserved. Please choose a different LV name.',
    );
  });
});
