/**
 * The refusal decision for changes of an LV of a shared VG, from who holds its lease (pure: no disk,
 * no daemon), and the lvs forms of the holders. Every change is refused while another host holds the
 * LV, whatever the mode; held only here, EX allows a resize and SH refuses it; remove and rename of
 * an LV active here are refused; nobody holding it allows everything.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  holderLines,
  holdersLong,
  holdersShort,
  type LvLeaseHolder,
  type LvLeaseHolders,
} from '../src/commands/lvm/lv-holders.js';
import { sharedLvRefusal, type SharedLvChange } from '../src/commands/lvm/shared-lv.js';

const CHANGES: readonly SharedLvChange[] = ['remove', 'reduce', 'extend', 'rename'];

function holder(hostId: number, mode: 'EX' | 'SH', self = false): LvLeaseHolder {
  return {
    hostId,
    mode,
    generation: 3n,
    hostName: `node-${hostId}`,
    state: 'LIVE',
    lastRenewalSecondsAgo: 1.5,
    self,
  };
}

function holdersOf(list: LvLeaseHolder[], liveness: 'daemon' | 'disk' = 'daemon'): LvLeaseHolders {
  return {
    vgName: 'vg0',
    lvName: 'disk1',
    lvUuid: 'aaaaaa-bbbb-cccc-dddd-eeee-ffff-gggggg',
    lockspace: 'lvm_vg0',
    path: '/dev/sdb',
    offsetBytes: 70254592,
    holders: list,
    liveness,
  };
}

describe('sharedLvRefusal', () => {
  it('another host holding the LV refuses every change but an extend, naming it with lvm first and last lines', () => {
    for (const mode of ['EX', 'SH'] as const)
      expect(sharedLvRefusal('extend', holdersOf([holder(2, mode)]))).toBeUndefined();
    for (const change of CHANGES.filter((c) => c !== 'extend')) {
      for (const mode of ['EX', 'SH'] as const) {
        const refusal = sharedLvRefusal(change, holdersOf([holder(2, mode)]));
        expect(refusal?.code).toBe('LEASE_HELD');
        expect(refusal?.exitStatus).toBe(5);
        expect(refusal?.lines).toEqual([
          'LV locked by other host: vg0/disk1',
          `vg0/disk1 is ${mode === 'EX' ? 'active exclusively' : 'active shared'} on host_id 2 "node-2" (${mode}, LIVE, last renewal 1.5 s ago).`,
          'Failed to lock logical volume vg0/disk1.',
        ]);
      }
    }
  });

  it('held only here: EX allows a reduce, SH refuses it; an extend is allowed; remove and rename are refused', () => {
    for (const mode of ['EX', 'SH'] as const) {
      const here = holdersOf([holder(1, mode, true)]);
      expect(sharedLvRefusal('extend', here)).toBeUndefined();
      expect(sharedLvRefusal('reduce', here)?.code).toBe(mode === 'EX' ? undefined : 'LV_ACTIVE_SHARED');
      expect(sharedLvRefusal('remove', here)?.code).toBe('LV_ACTIVE');
      expect(sharedLvRefusal('rename', here)?.code).toBe('LV_ACTIVE');
    }
  });

  it('SH here and SH elsewhere: refused naming only the other host', () => {
    const refusal = sharedLvRefusal('reduce', holdersOf([holder(1, 'SH', true), holder(3, 'SH')]));
    expect(refusal?.code).toBe('LEASE_HELD');
    expect(refusal?.lines[1]).toBe(
      'vg0/disk1 is active shared on host_id 3 "node-3" (SH, LIVE, last renewal 1.5 s ago).',
    );
  });

  it('nobody holds it: every change is allowed', () => {
    for (const change of CHANGES) expect(sharedLvRefusal(change, holdersOf([]))).toBeUndefined();
  });

  test.prop([
    fc.constantFrom(...CHANGES),
    fc.uniqueArray(fc.integer({ min: 1, max: 2000 }), { maxLength: 6 }),
    fc.boolean(),
  ])(
    'refused exactly when another host holds it, or when held here in a way the change cannot allow',
    (change, hostIds, exclusiveHere) => {
      const [mine, ...others] = hostIds;
      const list: LvLeaseHolder[] = [];
      if (mine !== undefined) list.push(holder(mine, exclusiveHere && others.length === 0 ? 'EX' : 'SH', true));
      for (const id of others) list.push(holder(id, 'SH'));
      const refusal = sharedLvRefusal(change, holdersOf(list));
      const reduceAllowedHere = change === 'reduce' && list[0]?.mode === 'EX';
      // An extend is never refused: the holders refresh after the commit (shared extend).
      const expected = change !== 'extend' && (others.length > 0 || (mine !== undefined && !reduceAllowedHere));
      expect(refusal !== undefined).toBe(expected);
      if (expected && others.length > 0) for (const id of others) expect(refusal?.lines[1]).toContain(`host_id ${id} `);
    },
  );
});

describe('the lvs forms of the holders', () => {
  it('short HOSTID:MODE and long HOSTID:MODE:NAME:STATE, comma-separated, empty for nobody', () => {
    const list = holdersOf([holder(1, 'SH', true), { ...holder(3, 'SH'), state: 'FAIL' }]);
    expect(holdersShort(list)).toBe('1:SH,3:SH');
    expect(holdersLong(list)).toBe('1:SH:node-1:LIVE,3:SH:node-3:FAIL');
    expect(holdersShort(holdersOf([]))).toBe('');
    expect(holdersLong(holdersOf([]))).toBe('');
  });

  it('a holder judged from one read of the lockspace says how to see more', () => {
    const lines = holderLines(
      holdersOf([{ ...holder(2, 'EX'), state: 'UNKNOWN', lastRenewalSecondsAgo: null }], 'disk'),
    );
    expect(lines).toEqual([
      'vg0/disk1 is active exclusively on host_id 2 "node-2" (EX, UNKNOWN).',
      '(Liveness from one read of lockspace lvm_vg0: start it here, leasehold lockstart vg0, to see LIVE/FAIL/DEAD.)',
    ]);
  });
});
