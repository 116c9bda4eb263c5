import { describe, expect, it } from 'vitest';
import { Registrations } from '@leasehold/watchdog';

describe('Registrations.verdict', () => {
  it('is idle with nothing registered', () => {
    expect(new Registrations().verdict(100, 2)).toEqual({ kind: 'idle' });
  });

  it('is healthy until `margin` before the earliest expiry, then failing (wdmd test warning)', () => {
    const table = new Registrations();
    table.set('a', 110, 1);
    table.set('b', 120, 1);
    expect(table.verdict(100, 2)).toEqual({ kind: 'healthy', nextCheckAtSeconds: 108 });
    expect(table.verdict(107.99, 2).kind).toBe('healthy');
    expect(table.verdict(108, 2)).toEqual({ kind: 'failing', failing: ['a'], earliestExpirySeconds: 110 });
    expect(table.verdict(125, 2)).toEqual({ kind: 'failing', failing: ['a', 'b'], earliestExpirySeconds: 110 });
  });

  it('moves an expiry with every set, keeps a lost one, and forgets a removed one', () => {
    const table = new Registrations();
    table.set('a', 110, 1);
    table.set('a', 130, 2);
    expect(table.verdict(120, 2).kind).toBe('healthy');
    table.markLost('a');
    expect(table.list(120)).toEqual([
      { lockspace: 'a', expiresAtSeconds: 130, expiresInSeconds: 10, lost: true, daemonPid: 2 },
    ]);
    expect(table.remove('a')).toBe(true);
    expect(table.remove('a')).toBe(false);
    expect(table.verdict(200, 2)).toEqual({ kind: 'idle' });
  });
});
