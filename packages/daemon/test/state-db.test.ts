/** Unit tests of the state database and of the lease token encoding it stores. */
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StateDb, MAX_HISTORY_ROWS } from '../src/state/state-db.js';
import { decodeToken, encodeToken } from '../src/util/wire.js';
import { parseProcStat } from '../src/clients/proc.js';
import { TestDir } from './support/harness.js';

const dir = new TestDir();
afterAll(() => dir.cleanup());

describe('StateDb', () => {
  it('keeps lockspaces, remembered host_ids, leases and history across reopen', () => {
    const stateDir = dir.file('state1');
    let db = StateDb.open(stateDir);
    db.setMeta('host_name', 'abc.node');
    db.upsertLockspace({
      name: 'vg0',
      path: '/dev/sdb',
      offsetBytes: 0,
      hostIdRequest: 'auto',
      hostId: 4,
      generation: 9n,
      startAtBoot: true,
      state: 'joined',
    });
    db.rememberHostId('vg0', '/dev/sdb', 0, 4);
    db.putLease({
      lockspace: 'vg0',
      resource: 'lv1',
      path: '/dev/sdb',
      offsetBytes: 1 << 20,
      mode: 'SH',
      lver: 12n,
      hostId: 4,
      generation: 9n,
      holder: 'process',
      pid: 123,
      pidStartTime: 456n,
      token: '{}',
      acquiredAt: '2026-01-01T00:00:00.000Z',
    });
    db.addHistory('acquire', { lockspace: 'vg0', resource: 'lv1', pid: 123, details: { lver: 12n } });
    db.close();
    db = StateDb.open(stateDir);
    expect(db.getMeta('host_name')).toBe('abc.node');
    expect(db.lockspaces()).toEqual([
      expect.objectContaining({ name: 'vg0', hostIdRequest: 'auto', hostId: 4, generation: 9n, startAtBoot: true }),
    ]);
    expect(db.rememberedHostId('vg0', '/dev/sdb', 0)).toBe(4);
    expect(db.leases('vg0')).toEqual([
      expect.objectContaining({ resource: 'lv1', mode: 'SH', lver: 12n, pid: 123, pidStartTime: 456n }),
    ]);
    expect(db.history(1)[0]).toMatchObject({ kind: 'acquire', details: { lver: '12' } });
    db.deleteLease('vg0', 'lv1', 'pid:123:456');
    expect(db.leases()).toEqual([]);
    db.close();
  });

  it('bounds the history', () => {
    const db = StateDb.open(dir.file('state2'));
    db.transaction(() => {
      for (let i = 0; i < MAX_HISTORY_ROWS + 1000; i++) db.addHistory('x');
    });
    expect(db.history(MAX_HISTORY_ROWS * 2).length).toBeLessThanOrEqual(MAX_HISTORY_ROWS + 500);
    db.close();
  });
});

describe('tokens and /proc parsing', () => {
  it('round-trips bigints exactly', () => {
    const held = { lver: (1n << 63n) + 5n, nested: { generation: 3n, name: 'x' }, list: [1n, 2] };
    expect(decodeToken(encodeToken(held as never))).toEqual(held);
  });

  it('round-trips a value block (bytes) exactly', () => {
    const held = { lver: 3n, valueBlock: { bytes: Uint8Array.of(1, 1, 0, 0, 5, 0, 0, 0, 255), writeOnRelease: true } };
    const back = decodeToken(encodeToken(held as never)) as unknown as typeof held;
    expect(back.valueBlock.bytes).toBeInstanceOf(Uint8Array);
    expect(back).toEqual(held);
  });

  it('keeps activations across reopen, and moves a schema-1 database up to schema 2', () => {
    const stateDir = dir.file('state-activations');
    let db = StateDb.open(stateDir);
    const row = {
      lockspace: 'lvm_vg0',
      resource: 'Ozck4L-K3xB-guIE-awlZ-4Mcs-RZUM-eEaZlh',
      path: '/dev/sdb',
      offsetBytes: 70254592,
      mode: 'SH' as const,
      state: 'activating' as const,
      mapping: '{"vgName":"vg0"}',
      device: null,
      vgSeqno: 7,
      activatedAt: '2026-01-01T00:00:00.000Z',
    };
    db.putActivation(row);
    db.putActivation({ ...row, state: 'active', device: '{"backend":"loop"}', mode: 'EX' });
    db.close();
    db = StateDb.open(stateDir);
    expect(db.activations()).toEqual([{ ...row, state: 'active', device: '{"backend":"loop"}', mode: 'EX' }]);
    expect(db.activations('other')).toEqual([]);
    db.deleteActivation(row.lockspace, row.resource);
    expect(db.activations()).toEqual([]);
    expect(db.getMeta('schema_version')).toBe('2');
    db.close();

    // A database written by a schema-1 daemon (no activations table) opens and gains it.
    const oldDir = dir.file('state-schema1');
    StateDb.open(oldDir).close();
    const raw = new Database(`${oldDir}/state.db`);
    raw.exec('DROP TABLE activations');
    raw.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run();
    raw.close();
    db = StateDb.open(oldDir);
    expect(db.getMeta('schema_version')).toBe('2');
    db.putActivation(row);
    expect(db.activations()).toHaveLength(1);
    db.close();
  });

  it('parses /proc/PID/stat with spaces and parentheses in the command name', () => {
    const fields = Array.from({ length: 40 }, (_, i) => String(i));
    fields[0] = 'S';
    fields[1] = '77';
    fields[19] = '123456';
    const stat = parseProcStat(`4242 (a (weird) name) ${fields.join(' ')}`);
    expect(stat).toEqual({ pid: 4242, ppid: 77, state: 'S', startTime: 123456n });
  });
});
