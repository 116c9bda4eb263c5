/** Unit tests of the protocol layer: framing limits and strict validation. */
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { DaemonError, encodeLine, LineFramer, MAX_MESSAGE_BYTES, validateRequest } from '../src/index.js';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    return error instanceof DaemonError ? error.code : 'THREW_OTHER';
  }
}

describe('LineFramer', () => {
  it('splits lines across chunks and keeps partial lines', () => {
    const framer = new LineFramer(100);
    expect(framer.push(Buffer.from('{"a":1}\n{"b"'))).toEqual([{ kind: 'line', line: '{"a":1}' }]);
    expect(framer.pendingByteCount).toBe(4);
    expect(framer.push(Buffer.from(':2}\n'))).toEqual([{ kind: 'line', line: '{"b":2}' }]);
  });

  it('reports an oversize line once and then stops', () => {
    const framer = new LineFramer(10);
    expect(framer.push(Buffer.from('12345678901'))).toEqual([{ kind: 'oversize' }]);
    expect(framer.push(Buffer.from('\nok\n'))).toEqual([]);
  });

  test.prop([
    fc.array(
      fc.string({ unit: 'binary', maxLength: 50 }).map((s) => s.replace(/\n/g, '')),
      { maxLength: 20 },
    ),
    fc.array(fc.nat(), { maxLength: 10 }),
  ])('any chunking of a stream of lines gives the same lines', (lines, cuts) => {
    const stream = Buffer.from(lines.map((line) => `${line}\n`).join(''));
    const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
    const framer = new LineFramer(MAX_MESSAGE_BYTES);
    const out: string[] = [];
    let previous = 0;
    for (const point of [...points, stream.length]) {
      for (const frame of framer.push(stream.subarray(previous, point)))
        if (frame.kind === 'line') out.push(frame.line);
      previous = point;
    }
    expect(out).toEqual(lines.map((line) => Buffer.from(line).toString('utf8')));
  });
});

describe('validateRequest', () => {
  const acquire = {
    id: 1,
    op: 'acquire',
    lockspace: 'LS',
    resource: 'R',
    path: '/dev/sdb',
    offsetBytes: 1048576,
    mode: 'EX',
  };

  it('accepts well-formed requests and returns the id apart', () => {
    expect(validateRequest(acquire)).toEqual({
      id: 1,
      request: { op: 'acquire', lockspace: 'LS', resource: 'R', path: '/dev/sdb', offsetBytes: 1048576, mode: 'EX' },
    });
    expect(validateRequest({ id: 0, op: 'status' }).request).toEqual({ op: 'status' });
    expect(
      validateRequest({
        id: 2,
        op: 'lockstart',
        lockspace: 'vg0',
        hostId: 'auto',
        path: '/x',
        offsetBytes: 0,
        wait: true,
      }).id,
    ).toBe(2);
  });

  it('refuses with stable codes', () => {
    expect(codeOf(() => validateRequest([1]))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ op: 'status' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ id: -1, op: 'status' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ id: 1, op: 'fly' }))).toBe('UNKNOWN_OP');
    expect(codeOf(() => validateRequest({ id: 1, op: '__proto__' }))).toBe('UNKNOWN_OP');
    expect(codeOf(() => validateRequest({ ...acquire, extra: 1 }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ ...acquire, mode: 'XX' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ ...acquire, path: 'relative' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ ...acquire, offsetBytes: 1.5 }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ ...acquire, lockspace: 'x'.repeat(49) }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ ...acquire, lver: '18446744073709551616' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ ...acquire, waitSeconds: Number.POSITIVE_INFINITY }))).toBe('BAD_REQUEST');
    expect(
      codeOf(() =>
        validateRequest({ id: 1, op: 'lockstart', lockspace: 'vg0', hostId: 2001, path: '/x', offsetBytes: 0 }),
      ),
    ).toBe('BAD_REQUEST');
  });

  test.prop([fc.jsonValue()])('never throws anything but a DaemonError', (value) => {
    const code = codeOf(() => validateRequest(value));
    expect(code === undefined || code !== 'THREW_OTHER').toBe(true);
  });

  it('encodes bigints as decimal strings', () => {
    expect(encodeLine({ lver: 5n })).toBe('{"lver":"5"}\n');
  });
});

describe('validateRequest: activation ops', () => {
  const mapping = {
    vgName: 'vg0',
    lvName: 'lv1',
    lvUuid: 'Ozck4L-K3xB-guIE-awlZ-4Mcs-RZUM-eEaZlh',
    sizeSectors: 16384,
    segments: [
      { lvStartSectors: 0, lengthSectors: 8192, pvPath: '/dev/sdb', pvOffsetSectors: 2048 },
      { lvStartSectors: 8192, lengthSectors: 8192, pvPath: '/dev/sdc', pvOffsetSectors: 2048 },
    ],
  };
  const activate = {
    id: 3,
    op: 'activate',
    lockspace: 'lvm_vg0',
    resource: mapping.lvUuid,
    path: '/dev/sdb',
    offsetBytes: 70254592,
    mode: 'SH',
    mapping,
    vgSeqno: 7,
  };

  it('accepts activate, deactivate, refresh and activations as ACTIVATION.md has them', () => {
    const { id: _id, ...rest } = activate;
    expect(validateRequest(activate).request).toEqual(rest);
    expect(validateRequest({ ...activate, waitSeconds: 5 }).request).toMatchObject({ waitSeconds: 5 });
    expect(validateRequest({ id: 4, op: 'deactivate', lockspace: 'lvm_vg0', resource: 'R' }).request).toEqual({
      op: 'deactivate',
      lockspace: 'lvm_vg0',
      resource: 'R',
    });
    expect(
      validateRequest({ id: 5, op: 'refresh', lockspace: 'lvm_vg0', resource: 'R', mapping, vgSeqno: 8 }).request,
    ).toMatchObject({ op: 'refresh', vgSeqno: 8 });
    expect(validateRequest({ id: 6, op: 'activations' }).request).toEqual({ op: 'activations' });
    expect(validateRequest({ id: 7, op: 'activations', lockspace: 'lvm_vg0' }).request).toEqual({
      op: 'activations',
      lockspace: 'lvm_vg0',
    });
  });

  it('refuses mappings that are not contiguous, do not add up, or carry unknown fields', () => {
    const withMapping = (m: unknown): string | undefined => codeOf(() => validateRequest({ ...activate, mapping: m }));
    expect(withMapping({ ...mapping, sizeSectors: 16385 })).toBe('BAD_REQUEST');
    expect(withMapping({ ...mapping, segments: [] })).toBe('BAD_REQUEST');
    expect(withMapping({ ...mapping, extra: 1 })).toBe('BAD_REQUEST');
    expect(withMapping({ ...mapping, lvName: 'a/b' })).toBe('BAD_REQUEST');
    expect(
      withMapping({ ...mapping, segments: [mapping.segments[1], mapping.segments[0]] }),
      'segments out of LV order',
    ).toBe('BAD_REQUEST');
    expect(
      withMapping({ ...mapping, segments: [{ ...mapping.segments[0], pvPath: 'sdb' }, mapping.segments[1]] }),
    ).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ ...activate, vgSeqno: -1 }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ ...activate, mapping: undefined }))).toBe('BAD_REQUEST');
    expect(codeOf(() => validateRequest({ id: 1, op: 'deactivate', lockspace: 'x' }))).toBe('BAD_REQUEST');
  });

  test.prop([
    fc.array(fc.integer({ min: 1, max: 1 << 20 }), { minLength: 1, maxLength: 20 }),
    fc.integer({ min: -3, max: 3 }),
  ])(
    'a mapping is accepted exactly when its segments are contiguous from 0 and add up to sizeSectors',
    (lengths, sizeDelta) => {
      let start = 0;
      const segments = lengths.map((length, i) => {
        const segment = { lvStartSectors: start, lengthSectors: length, pvPath: `/dev/pv${i}`, pvOffsetSectors: 2048 };
        start += length;
        return segment;
      });
      const m = { ...mapping, sizeSectors: start + sizeDelta, segments };
      const code = codeOf(() => validateRequest({ ...activate, mapping: m }));
      expect(code).toBe(sizeDelta === 0 ? undefined : 'BAD_REQUEST');
    },
  );
});
