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
