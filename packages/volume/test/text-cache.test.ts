/**
 * The cache of parsed metadata texts: an entry gives back exactly the model parseVgText returns for
 * the same bytes, and nothing for any other bytes, a damaged entry, another parser revision or a
 * directory or file that others could write; it stays within its entry limit; a source digest makes
 * sure the parser revision is bumped when the code that decides the model changes.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeVgText,
  lvmCrc,
  parseVgText,
  VG_IMPORT_REVISION,
  type LogicalVolume,
  type VgMetadata,
} from '@leasehold/lvm-format';
import {
  decodeEntry,
  directoryTextCache,
  encodeEntry,
  MAX_METADATA_CACHE_ENTRIES,
  MIN_CACHED_TEXT_BYTES,
} from '@leasehold/volume';

const work = mkdtempSync(join(tmpdir(), 'leasehold-text-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const fixture = (name: string): Uint8Array =>
  readFileSync(new URL(`../../lvm-format/test/fixtures/${name}`, import.meta.url));

const UUID = 'abcdefghijklmnopqrstuvwxyz012345';
const oddText = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0'));

/** Texts as lvm writes them (leasehold's printer), with names, tags, hosts and descriptions of every kind. */
const textArb = fc
  .record({
    lvCount: fc.integer({ min: 0, max: 20 }),
    tags: fc.array(fc.stringMatching(/^[A-Za-z0-9_+.-]{1,8}$/), { maxLength: 3 }),
    host: oddText,
    desc: oddText.filter((s) => !s.includes('\n')),
    seqno: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    time: fc.integer({ min: 1, max: 2 ** 33 }),
    shared: fc.boolean(),
  })
  .map((r) => vgText(r));

interface TextShape {
  lvCount: number;
  tags: string[];
  host: string;
  desc: string;
  seqno: number;
  time: number;
  shared: boolean;
}

function vgText(r: TextShape): Uint8Array {
  {
    const lvs: LogicalVolume[] = Array.from({ length: r.lvCount }, (_, i) => ({
      name: `lv${i}`,
      id: `${UUID.slice(0, 26)}${String(i).padStart(6, '0')}`,
      status: ['READ', 'WRITE', 'VISIBLE'],
      flags: [],
      tags: r.tags,
      creationTime: r.time,
      creationHost: r.host,
      ...(r.shared ? { lockArgs: `1.0.0:${(67 + i) * 1048576}` } : {}),
      segments: [
        { startExtent: 0, extentCount: 1, type: 'striped', tags: [], stripes: [{ pvKey: 'pv0', startPe: i }] },
      ],
    }));
    const meta: VgMetadata = {
      vg: {
        name: 'vg0',
        id: UUID,
        seqno: r.seqno,
        format: 'lvm2',
        status: ['RESIZEABLE', 'READ', 'WRITE'],
        flags: [],
        tags: r.tags,
        extentSizeSectors: 8192,
        maxLv: 0,
        maxPv: 0,
        metadataCopies: 0,
        ...(r.shared ? { lockType: 'sanlock', lockArgs: '1.0.0:lvmlock' } : {}),
        pvs: [
          {
            key: 'pv0',
            id: UUID.split('').reverse().join(''),
            deviceHint: '/dev/sdb',
            status: ['ALLOCATABLE'],
            flags: [],
            tags: [],
            devSizeSectors: 2 ** 21,
            peStartSectors: 2048,
            peCount: 255,
          },
        ],
        lvs,
      },
      footer: { description: r.desc, creationHost: r.host, creationTime: r.time },
    };
    return encodeVgText(meta);
  }
}

/** A text big enough to be cached (200 LVs, about 50 KB). */
const bigText = vgText({ lvCount: 200, tags: ['t'], host: 'h', desc: 'd', seqno: 7, time: 1, shared: true });

function checksum(text: Uint8Array): number {
  return lvmCrc(text);
}

describe('entries', () => {
  it('give back the model lvm 2.03.16 texts parse to (raw mda text and backup file)', () => {
    for (const name of ['lvm-2.03.16-raw.vg', 'lvm-2.03.16-backup.vg']) {
      const text = fixture(name);
      const model = parseVgText(text);
      expect(decodeEntry(encodeEntry(text, model), text)).toEqual(model);
    }
  });

  test.prop([textArb])('give back exactly what parseVgText returns for the same bytes', (text) => {
    const model = parseVgText(text);
    expect(decodeEntry(encodeEntry(text, model), text)).toEqual(model);
  });

  test.prop([textArb, fc.nat(), fc.integer({ min: 1, max: 255 })])(
    'give nothing for other bytes (any one byte changed)',
    (text, at, flip) => {
      const entry = encodeEntry(text, parseVgText(text));
      const other = new Uint8Array(text);
      const i = at % other.length;
      other[i] = (other[i] as number) ^ flip;
      expect(decodeEntry(entry, other)).toBeUndefined();
    },
  );

  test.prop([textArb, fc.nat(), fc.integer({ min: 1, max: 255 })])(
    'give nothing when damaged (any one byte of the entry changed) or cut short',
    (text, at, flip) => {
      const entry = encodeEntry(text, parseVgText(text));
      const damaged = new Uint8Array(entry);
      const i = at % damaged.length;
      damaged[i] = (damaged[i] as number) ^ flip;
      expect(decodeEntry(damaged, text)).toBeUndefined();
      expect(decodeEntry(entry.subarray(0, i), text)).toBeUndefined();
    },
  );

  it('give nothing for another parser revision', () => {
    const text = fixture('lvm-2.03.16-raw.vg');
    const entry = Buffer.from(encodeEntry(text, parseVgText(text)));
    const newline = entry.indexOf(0x0a);
    const fields = entry.subarray(0, newline).toString('latin1').split(' ');
    fields[2] = String(VG_IMPORT_REVISION + 1);
    const other = Buffer.concat([Buffer.from(fields.join(' '), 'latin1'), entry.subarray(newline)]);
    expect(decodeEntry(other, text)).toBeUndefined();
  });
});

describe('the cache directory', () => {
  const text = bigText;
  const model = parseVgText(text);

  it(`does not cache texts under ${MIN_CACHED_TEXT_BYTES} bytes (parsing them costs less)`, () => {
    const dir = join(work, 'small');
    const small = fixture('lvm-2.03.16-raw.vg');
    expect(small.length).toBeLessThan(MIN_CACHED_TEXT_BYTES);
    expect(text.length).toBeGreaterThanOrEqual(MIN_CACHED_TEXT_BYTES);
    directoryTextCache(dir).put(small, checksum(small), parseVgText(small));
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps a model for the next command, in a directory only this user may write', () => {
    const dir = join(work, 'private');
    const cache = directoryTextCache(dir);
    expect(cache.get(text, checksum(text))).toBeUndefined();
    cache.put(text, checksum(text), model);
    expect(directoryTextCache(dir).get(text, checksum(text))).toEqual(model);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('is not used when others may write the directory or the entry, or the entry is not ours', () => {
    const dir = join(work, 'open');
    const cache = directoryTextCache(dir);
    cache.put(text, checksum(text), model);
    const [name] = readdirSync(dir) as [string];
    chmodSync(dir, 0o777);
    expect(cache.get(text, checksum(text))).toBeUndefined();
    cache.put(vgText({ lvCount: 150, tags: [], host: 'x', desc: 'y', seqno: 1, time: 1, shared: false }), 1, model);
    expect(readdirSync(dir)).toEqual([name]);
    chmodSync(dir, 0o700);
    expect(cache.get(text, checksum(text))).toEqual(model);
    chmodSync(join(dir, name), 0o666);
    expect(cache.get(text, checksum(text))).toBeUndefined();
    chmodSync(join(dir, name), 0o600);
    // CI runs as root: an entry owned by another user is not trusted
    chownSync(join(dir, name), 65534, 65534);
    expect(cache.get(text, checksum(text))).toBeUndefined();
  });

  it(`holds at most ${MAX_METADATA_CACHE_ENTRIES} entries`, () => {
    const dir = join(work, 'full');
    const cache = directoryTextCache(dir);
    for (let i = 0; i < MAX_METADATA_CACHE_ENTRIES + 5; i++) {
      const other = new TextEncoder().encode(`${new TextDecoder().decode(text)}# ${i}\n`);
      cache.put(other, checksum(other), model);
    }
    expect(readdirSync(dir).length).toBe(MAX_METADATA_CACHE_ENTRIES);
  });

  it('a file in the way of the directory means no cache, and no error', () => {
    const path = join(work, 'not-a-dir');
    writeFileSync(path, 'x');
    const cache = directoryTextCache(path);
    cache.put(text, checksum(text), model);
    expect(cache.get(text, checksum(text))).toBeUndefined();
    mkdirSync(join(work, 'parent'), { mode: 0o700 });
    expect(directoryTextCache(join(work, 'parent', 'deeper')).get(text, checksum(text))).toBeUndefined();
  });
});

/**
 * The sources that decide the model parseVgText returns. When this digest changes, bump
 * VG_IMPORT_REVISION (lvm-format/src/vg-import.ts) if the model for some text may differ, then put
 * the new digest and revision here: caches written by the older code must not be used.
 */
const MODEL_SOURCES = [
  'config.ts',
  'vg-import.ts',
  'vg-validate.ts',
  'model.ts',
  'names.ts',
  'uuid.ts',
  'constants.ts',
];
const PINNED = { revision: 1, digest: '518bf278f8040bb511d458b9bf9a601e870166eb37e628d48241e43234869e20' };

describe('the parser revision', () => {
  it('is bumped with the sources that decide the model (digest pinned here)', () => {
    const hash = createHash('sha256');
    for (const name of MODEL_SOURCES)
      hash.update(readFileSync(new URL(`../../lvm-format/src/${name}`, import.meta.url)));
    const digest = hash.digest('hex');
    expect(
      { revision: VG_IMPORT_REVISION, digest },
      'lvm-format sources changed: bump VG_IMPORT_REVISION if parsed models may differ, then pin the new digest',
    ).toEqual(PINNED);
  });
});
