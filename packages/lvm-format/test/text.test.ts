/** The metadata text: grammar, lvm's exact output (fixtures written by lvm 2.03.16), model round trips, read checks. */
import { readFileSync } from 'node:fs';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  type ConfigNode,
  type ConfigSection,
  encodeVgText,
  formatG,
  LvmFormatError,
  parseConfig,
  parseVgText,
  printConfig,
  printVgBackup,
  printVgRaw,
  UUID_ALPHABET,
  type VgMetadata,
  type VolumeGroup,
} from '../src/index.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function expectError(fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LvmFormatError);
    expect((error as LvmFormatError).code).toBe(code);
    expect((error as LvmFormatError).message).toMatch(message);
    return;
  }
  throw new Error('expected an error');
}

describe("lvm's own text", () => {
  it('the raw mda text lvm wrote is reprinted byte for byte', () => {
    const raw = fixture('lvm-2.03.16-raw.vg');
    const meta = parseVgText(raw);
    expect(meta.vg.name).toBe('fmtg');
    expect(meta.vg.seqno).toBe(8);
    expect(meta.vg.lvs.map((l) => [l.name, l.segments.length])).toEqual([
      ['a', 3],
      ['b', 2],
      ['c', 1],
    ]);
    expect(meta.footer.creationHostComment).toBe('Linux vm 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMIC @0 x86_64');
    expect(printVgRaw(meta)).toBe(raw);
    const bytes = encodeVgText(meta);
    expect(bytes[bytes.length - 1]).toBe(0);
    expect(new TextDecoder().decode(bytes.subarray(bytes.length - 3, bytes.length - 1))).toBe('\n\n');
  });
  it('the vgcfgbackup file lvm wrote is reprinted byte for byte, and carries the same VG as the raw text', () => {
    const backup = fixture('lvm-2.03.16-backup.vg');
    const meta = parseVgText(backup);
    expect(printVgBackup(meta)).toBe(backup);
    expect(meta.vg).toEqual(parseVgText(fixture('lvm-2.03.16-raw.vg')).vg);
  });
});

describe('grammar', () => {
  it('reads comments, optional commas, bare strings, quotes and escapes, the octal quirk and the NUL', () => {
    const text =
      'a = 010 # octal\nb = [1 2, "x\\"y\\\\z\\n"]\nc = \'it\\s\'\nd = bare\ns { t = -5 u = 1.5 }\0garbage {';
    expect(parseConfig(text)).toEqual([
      { key: 'a', value: 8 },
      { key: 'b', value: [1, 2, 'x"y\\z\\n'] },
      { key: 'c', value: 'it\\s' },
      { key: 'd', value: 'bare' },
      {
        key: 's',
        children: [
          { key: 't', value: -5 },
          { key: 'u', value: 1.5 },
        ],
      },
    ]);
  });
  it('reports parse errors with byte and line as lvm does', () => {
    expectError(
      () => parseConfig('vg {\nid = "x"\nmax_lv 0\n}'),
      'PARSE_ERROR',
      /^Parse error at byte 22 \(line 3\): unexpected token$/,
    );
    expectError(() => parseConfig('a = 0x10'), 'PARSE_ERROR', /Parse error at byte 5 \(line 1\)/);
    expectError(() => parseConfig('a = "unterminated'), 'PARSE_ERROR', /Parse error/);
    expectError(() => parseConfig('a = 09'), 'PARSE_ERROR', /Parse error/);
  });

  const keyArb = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
  const scalarArb = fc.oneof(
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.string({ maxLength: 12 }).filter((s) => !s.includes('\0')),
  );
  const valueArb = fc.oneof(scalarArb, fc.array(scalarArb, { maxLength: 5 }));
  const nodeArb: fc.Arbitrary<ConfigNode> = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ key: keyArb, value: valueArb }),
      fc.record({ key: keyArb, children: fc.array(tie('node') as fc.Arbitrary<ConfigNode>, { maxLength: 4 }) }),
    ),
  })).node;
  test.prop([fc.array(nodeArb, { maxLength: 6 }), fc.boolean()])(
    'print then parse gives the same tree',
    (tree: ConfigSection, indented) => {
      expect(parseConfig(printConfig(tree, indented))).toEqual(tree);
    },
  );
});

const uuidArb = fc
  .array(fc.constantFrom(...UUID_ALPHABET.split('')), { minLength: 32, maxLength: 32 })
  .map((c) => c.join(''));
const nameArb = fc
  .stringMatching(/^[a-z][a-z0-9_+.-]{0,10}$/)
  .filter((n) => !n.startsWith('pvmove') && !n.startsWith('snapshot') && !/_(c|t|r|m|v|w|p)/.test(n));
const tagArb = fc.array(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { maxLength: 2 });

/** A random valid VG: PVs, linear and striped LVs laid out without overlap. */
const vgArb: fc.Arbitrary<VgMetadata> = fc
  .record({
    name: nameArb,
    id: uuidArb,
    seqno: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    shared: fc.boolean(),
    pvCount: fc.integer({ min: 1, max: 4 }),
    pvIds: fc.uniqueArray(uuidArb, { minLength: 4, maxLength: 4 }),
    lvNames: fc.uniqueArray(nameArb, { maxLength: 5 }),
    lvIds: fc.uniqueArray(uuidArb, { minLength: 5, maxLength: 5 }),
    sizes: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 5, maxLength: 5 }),
    stripes: fc.array(fc.constantFrom(1, 1, 2), { minLength: 5, maxLength: 5 }),
    tags: tagArb,
    hidden: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    desc: fc.string({ maxLength: 30 }).filter((s) => !s.includes('\0') && !s.includes('\n')),
    time: fc.integer({ min: 1, max: 2 ** 33 }), // lvm does not write a zero LV creation_time
  })
  .map((r) => {
    const vg: VolumeGroup = {
      name: r.name,
      id: r.id,
      seqno: r.seqno,
      format: 'lvm2',
      status: ['RESIZEABLE', 'READ', 'WRITE'],
      flags: [],
      tags: r.tags,
      extentSizeSectors: 8192,
      maxLv: 0,
      maxPv: 0,
      metadataCopies: 0,
      pvs: [],
      lvs: [],
    };
    if (r.shared) {
      vg.lockType = 'sanlock';
      vg.lockArgs = '1.0.0:lvmlock';
    }
    for (let i = 0; i < r.pvCount; i++) {
      vg.pvs.push({
        key: `pv${i}`,
        id: r.pvIds[i] as string,
        deviceHint: `/dev/sd"${i}\\`,
        status: ['ALLOCATABLE'],
        flags: [],
        tags: [],
        devSizeSectors: 2 ** 21,
        peStartSectors: 2048,
        peCount: 100,
      });
    }
    const nextPe = vg.pvs.map(() => 0);
    r.lvNames.forEach((name, i) => {
      const stripes = Math.min(r.stripes[i] as number, vg.pvs.length);
      const per = r.sizes[i] as number;
      const lvStripes = Array.from({ length: stripes }, (_, s) => {
        const pv = (i + s) % vg.pvs.length;
        const start = nextPe[pv] as number;
        nextPe[pv] = start + per;
        return { pvKey: `pv${pv}`, startPe: start };
      });
      const seg = {
        startExtent: 0,
        extentCount: per * stripes,
        type: 'striped',
        tags: [],
        stripes: lvStripes,
        ...(stripes > 1 ? { stripeSizeSectors: 128 } : {}),
      };
      vg.lvs.push({
        name,
        id: r.lvIds[i] as string,
        status: r.hidden[i] === true ? ['READ', 'WRITE'] : ['READ', 'WRITE', 'VISIBLE'],
        flags: [],
        tags: [],
        creationTime: r.time,
        creationHost: 'host"x',
        ...(r.shared ? { lockArgs: `1.0.0:${70254592 + i * 1048576}` } : {}),
        segments: [seg],
      });
    });
    // lvm writes visible LVs first: keep the model in that order so a reprint matches
    vg.lvs.sort((a, b) => Number(b.status.includes('VISIBLE')) - Number(a.status.includes('VISIBLE')));
    return {
      vg,
      footer: {
        generatedBy: 'Generated by leasehold: Mon Dec  7 00:58:33 2026',
        description: r.desc,
        creationHost: 'h',
        creationHostComment: 'Linux h',
        creationTime: r.time,
        creationTimeComment: 'Mon Dec  7 00:58:33 2026',
      },
    };
  });

describe('VG model', () => {
  test.prop([vgArb])('model -> raw text -> model, and text -> model -> text, are identities', (meta) => {
    const text = printVgRaw(meta);
    const back = parseVgText(encodeVgText(meta));
    expect(back.vg).toEqual(meta.vg);
    expect(back.footer).toEqual(meta.footer);
    expect(printVgRaw(back)).toBe(text);
    expect(parseVgText(printVgBackup(meta)).vg).toEqual(meta.vg);
  });
  test.prop([vgArb.filter((m) => m.vg.lockType !== undefined && m.vg.lvs.length > 0)])(
    'shared VGs write WRITE as the WRITE_LOCKED flag and read it back as WRITE',
    (meta) => {
      const text = printVgRaw(meta);
      expect(text).toContain('status = ["RESIZEABLE", "READ"]\nflags = ["WRITE_LOCKED"]');
      expect(text).not.toMatch(/"WRITE"/);
      expect(parseVgText(text).vg.status).toContain('WRITE');
    },
  );
  it('formats sizes like printf %g', () => {
    expect(formatG(4)).toBe('4');
    expect(formatG(0.5)).toBe('0.5');
    expect(formatG(1023.99999)).toBe('1024');
    expect(formatG(12345678)).toBe('1.23457e+07');
    expect(formatG(63.75)).toBe('63.75');
  });
});

describe("lvm's read checks (spec section 5)", () => {
  const raw = fixture('lvm-2.03.16-raw.vg');
  it('accepts unknown flags words but refuses unknown status words', () => {
    expect(parseVgText(raw.replace('flags = []', 'flags = ["FROB"]')).vg.flags).toEqual([]);
    expectError(
      () =>
        parseVgText(raw.replace('status = ["RESIZEABLE", "READ", "WRITE"]', 'status = ["RESIZEABLE", "FROBNICATED"]')),
      'BAD_METADATA',
      /Unknown status flag 'FROBNICATED'/,
    );
  });
  it('refuses missing contents, a bad UUID, a wrong segment_count, a gap, a PE out of range, an overlap and an unknown PV', () => {
    expectError(
      () => parseVgText(raw.replace('contents = "Text Format Volume Group"', '')),
      'BAD_METADATA',
      /missing contents field/,
    );
    expectError(() => parseVgText(raw.replace('loH1PC', 'loH1P*')), 'BAD_UUID', /UUID contains invalid character '\*'/);
    expectError(
      () => parseVgText(raw.replace('segment_count = 3', 'segment_count = 2')),
      'BAD_METADATA',
      /segment_count and actual number of segments disagree/,
    );
    expectError(
      () => parseVgText(raw.replace('start_extent = 10\n', 'start_extent = 11\n')),
      'BAD_METADATA',
      /LV a invalid: segment 2 should begin at LE 10 \(found 11\)/,
    );
    expectError(
      () => parseVgText(raw.replace('"pv2", 5', '"pv2", 14')),
      'BAD_METADATA',
      /Segment with extent 15 in PV bkcWSc-W5hu-mYac-rzPw-6A7G-Pipf-wqiS8D not found/,
    );
    expectError(
      () => parseVgText(raw.replace('"pv2", 3', '"pv2", 1')),
      'BAD_METADATA',
      /PV segments corrupted in VG fmtg: extent 1 of PV/,
    );
    expectError(
      () => parseVgText(raw.replace('"pv2", 3', '"pv9", 3')),
      'BAD_METADATA',
      /Couldn't find volume 'pv9' for segment 'segment1'/,
    );
  });
  it('reads a leading-zero integer as octal, as lvm does', () => {
    expect(parseVgText(raw.replace('max_lv = 0', 'max_lv = 010')).vg.maxLv).toBe(8);
  });
});
