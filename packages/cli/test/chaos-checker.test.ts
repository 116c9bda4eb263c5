/**
 * The chaos checker (issue 15, build 2): fed histories with each kind of planted violation it finds
 * that kind; fed valid histories (scripted and generated) it finds none. Also the record codec and the
 * history format it reads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkHistory, peersLine, summaryLine } from '../src/chaos/checker/check.js';
import type { ViolationKind } from '../src/chaos/checker/violations.js';
import { formatEvent, parseHistory, HistoryError } from '../src/chaos/history.js';
import { decodeSlot, encodeRecord, RECORD_SIZE_BYTES, type ChaosRecord } from '../src/chaos/record.js';
import { HistoryBuilder, MIN_TAKEOVER_DELAY_NS, SECOND_NS, SLOTS_PER_LV } from './support/chaos-history.js';

const LVS = ['lv0', 'lv1', 'lv2'];

function kinds(builder: HistoryBuilder): ViolationKind[] {
  return checkHistory(builder.input()).violations.map((violation) => violation.kind);
}

const recordArb: fc.Arbitrary<ChaosRecord> = fc.record({
  hostIndex: fc.integer({ min: 1, max: 2000 }),
  slot: fc.integer({ min: 0, max: 0xffff_ffff }),
  epoch: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  seq: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  issuedAtNs: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  lv: fc.stringMatching(/^[a-zA-Z0-9+_.-]{1,63}$/),
});

describe('record codec', () => {
  it('round-trips every record', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const bytes = encodeRecord(record);
        expect(bytes.length).toBe(RECORD_SIZE_BYTES);
        expect(decodeSlot(bytes)).toEqual({ kind: 'record', record });
      }),
    );
  });

  it('tells a flipped byte, a foreign sector and an empty one apart', () => {
    fc.assert(
      fc.property(recordArb, fc.integer({ min: 4, max: RECORD_SIZE_BYTES - 1 }), (record, at) => {
        const bytes = encodeRecord(record);
        bytes[at] = (bytes[at] ?? 0) ^ 0x01;
        expect(decodeSlot(bytes).kind).toBe('corrupt');
      }),
    );
    const foreign = new Uint8Array(RECORD_SIZE_BYTES).fill(0x41);
    expect(decodeSlot(foreign).kind).toBe('foreign');
    expect(decodeSlot(new Uint8Array(RECORD_SIZE_BYTES)).kind).toBe('empty');
  });

  it('refuses names that do not fit', () => {
    expect(() =>
      encodeRecord({ hostIndex: 1, slot: 0, epoch: 1n, seq: 0n, issuedAtNs: 0n, lv: 'x'.repeat(64) }),
    ).toThrow(/LV name/);
  });
});

describe('history format', () => {
  it('round-trips the events a run writes and drops a line cut short at the end', () => {
    const builder = new HistoryBuilder(LVS);
    builder.cleanCycle('host1', 'lv0', [0, 1]);
    builder.fault('host2', 'freeze-long');
    builder.reset('host2');
    builder.deactivate('host2', 'harness', 'lv1', null);
    builder.events.push({ kind: 'daemon-start', tNs: builder.tick(), host: 'host3', newGeneration: true });
    const text = builder.events.map(formatEvent).join('\n') + '\n{"tNs":"12","ho';
    expect(parseHistory(text, 'h.jsonl')).toEqual(builder.events);
  });

  it('names the line and field of a bad event', () => {
    const good = formatEvent({ kind: 'reset', tNs: 5n, host: 'host1' });
    expect(() => parseHistory(`${good}\n{"tNs":"x","host":"host1","kind":"reset"}\n${good}`, 'h.jsonl')).toThrow(
      new HistoryError('h.jsonl:2: tNs: not a decimal string'),
    );
    expect(() => parseHistory(`{"tNs":"1","host":"host1","kind":"fault","fault":"meteor"}\n`, 'h')).toThrow(
      /h:1: fault: not one of/,
    );
  });
});

describe('checker: clean histories', () => {
  it('finds nothing in a history with overwrites, a writer kill, a fencing and a takeover after the deadline', () => {
    const b = new HistoryBuilder(LVS);
    b.cleanCycle('host1', 'lv0', [0, 1, 2]);
    b.cleanCycle('host2', 'lv0', [1, 2, 3]); // overwrites slots 1 and 2
    // host3 takes lv1, its writer is killed with an unacknowledged write that landed; cleanup -an.
    const killed = b.activate('host3', 'lv1', 'EX');
    b.write('host3', killed.worker, 'lv1', killed.epoch, 0n, 0);
    b.write('host3', killed.worker, 'lv1', killed.epoch, 1n, 1, { ack: false });
    b.fault('host3', 'kill-writer');
    b.workerExit('host3', killed.worker, 'SIGKILL');
    b.deactivate('host3', 'harness', 'lv1', null);
    // host1 holds lv2, freezes past its deadline, is reset; host2 takes lv2 after the deadline.
    const frozen = b.activate('host1', 'lv2', 'EX');
    b.write('host1', frozen.worker, 'lv2', frozen.epoch, 0n, 0);
    b.write('host1', frozen.worker, 'lv2', frozen.epoch, 1n, 1, { ack: false, land: false });
    b.fault('host1', 'freeze-long');
    b.tick(8n * SECOND_NS);
    b.reset('host1');
    b.workerExit('host1', frozen.worker, 'SIGKILL');
    b.tick(MIN_TAKEOVER_DELAY_NS);
    const taker = b.activate('host2', 'lv2', 'EX');
    b.write('host2', taker.worker, 'lv2', taker.epoch, 0n, 1);
    b.deactivate('host2', taker.worker, 'lv2', taker.epoch);
    b.workerExit('host2', taker.worker);
    // Shared readers at once on lv1.
    const r1 = b.activate('host1', 'lv1', 'SH');
    const r2 = b.activate('host2', 'lv1', 'SH');
    b.read('host1', r1.worker, 'lv1', r1.epoch, 0, 'ok');
    b.deactivate('host1', r1.worker, 'lv1', r1.epoch);
    b.deactivate('host2', r2.worker, 'lv1', r2.epoch);
    const result = checkHistory(b.input());
    expect(result.violations).toEqual([]);
    expect(result.counts).toEqual({ faults: 2, activations: 7, takeovers: 1, acknowledgedWrites: 9, peers: [] });
    expect(summaryLine(result, 12.4)).toBe(
      'chaos: 2 faults, 7 activations, 1 takeovers, 9 acknowledged writes, 0 violations, 12 s',
    );
  });

  it('accepts an LV taken at once after its holder asked to deactivate and froze before the answer (long run, lv0 and lv6)', () => {
    // The 30-minute run's evidence: host2's writer asked -an, its daemon released the lease on disk,
    // and the freeze came before the writer logged deactivate-ok; host1 found the lease free 0.3 s
    // later. The lease may have been free from the request on: no takeover, no violation.
    const b = new HistoryBuilder(LVS);
    const held = b.activate('host2', 'lv0', 'EX');
    b.write('host2', held.worker, 'lv0', held.epoch, 0n, 3);
    b.read('host2', held.worker, 'lv0', held.epoch, 3, 'ok');
    b.events.push({
      kind: 'deactivate-start',
      tNs: b.tick(),
      host: 'host2',
      worker: held.worker,
      lv: 'lv0',
      epoch: held.epoch,
    });
    b.tick(70_000_000n);
    b.fault('host2', 'freeze-long');
    b.tick(270_000_000n);
    const taker = b.activate('host1', 'lv0', 'EX');
    b.write('host1', taker.worker, 'lv0', taker.epoch, 0n, 3);
    b.deactivate('host1', taker.worker, 'lv0', taker.epoch);
    b.tick(10n * SECOND_NS);
    b.reset('host2');
    b.workerExit('host2', held.worker, 'SIGKILL');
    b.tick(2n * SECOND_NS);
    b.boot('host2');
    // The harness's own cleanup, asked and never answered, frees the LV the same way.
    const other = b.activate('host3', 'lv1', 'EX');
    b.workerExit('host3', other.worker, 'SIGKILL');
    b.events.push({
      kind: 'deactivate-start',
      tNs: b.tick(),
      host: 'host3',
      worker: 'harness-host3',
      lv: 'lv1',
      epoch: null,
    });
    b.fault('host3', 'power-cycle');
    b.reset('host3');
    b.activate('host1', 'lv1', 'EX');
    const result = checkHistory(b.input());
    expect(result.violations).toEqual([]);
    expect(result.counts.takeovers).toBe(0);
  });

  it('accepts a takeover before the deadline once the killed daemon came back with a new generation (CI run, lv6)', () => {
    // host5's daemon was killed holding lv6, restarted 3 s later too late to resume its delta lease,
    // deactivated lv6 and joined with generation 2; host2 then found host_id 5 with a new generation.
    const b = new HistoryBuilder(LVS);
    const held = b.activate('host5', 'lv0', 'EX');
    b.fault('host5', 'kill-daemon');
    b.workerExit('host5', held.worker);
    b.tick(3n * SECOND_NS);
    b.events.push({ kind: 'daemon-start', tNs: b.tick(), host: 'host5', newGeneration: true });
    b.tick(2n * SECOND_NS);
    b.activate('host2', 'lv0', 'EX');
    const result = checkHistory(b.input());
    expect(result.violations).toEqual([]);
    expect(result.counts.takeovers).toBe(1);
  });

  it('accepts an LV freed by a daemon killed during -an and started again, whose answers came late or never (30-minute run, lv4)', () => {
    // host2's writer asked -an; the daemon removed the device and was killed before the release (the
    // writer's answer: the connection closed). The restarted daemon resumed, found the adopted LV's
    // device gone and released the lease; host4 took it 3.6 s after the kill, while the harness's own
    // -an of the LV was still waiting for its (late) answer.
    const b = new HistoryBuilder(LVS);
    const held = b.activate('host2', 'lv0', 'EX');
    const request = { host: 'host2', worker: held.worker, lv: 'lv0', epoch: held.epoch };
    b.events.push({ kind: 'deactivate-start', tNs: b.tick(), ...request });
    b.fault('host2', 'kill-daemon');
    b.events.push({ kind: 'deactivate-fail', tNs: b.tick(), ...request, code: 'the daemon closed the connection' });
    b.workerExit('host2', held.worker);
    b.tick(SECOND_NS);
    b.events.push({ kind: 'daemon-start', tNs: b.tick(), host: 'host2', newGeneration: false });
    b.tick(2n * SECOND_NS);
    const cleanup = { host: 'host2', worker: 'harness-host2', lv: 'lv0', epoch: null };
    b.events.push({ kind: 'deactivate-start', tNs: b.tick(), ...cleanup });
    b.activate('host4', 'lv0', 'EX');
    b.tick(6n * SECOND_NS);
    b.events.push({ kind: 'deactivate-ok', tNs: b.tick(), ...cleanup });
    const result = checkHistory(b.input());
    expect(result.violations).toEqual([]);
    expect(result.counts.takeovers).toBe(0);
  });

  it('accepts a takeover after the deadline of a storage hang that began while the activation was being answered (30-minute run, lv6)', () => {
    // host1's storage hung 1.9 ms before its -aey was answered: its renewals stopped with the lease
    // already granted, the writer wrote its records, then -an failed (lockspace lost); the daemon
    // stopped the users and deactivated, and host2 took lv6 20 s later, past host1's deadline.
    const b = new HistoryBuilder(LVS);
    const worker = b.newWorker('host1');
    const epoch = b.tick();
    b.events.push({ kind: 'activate-start', tNs: epoch, host: 'host1', worker, lv: 'lv0', mode: 'EX', epoch });
    b.tick(3n * SECOND_NS);
    const hung = b.fault('host1', 'storage-hang');
    b.events.push({ kind: 'activate-ok', tNs: b.tick(), host: 'host1', worker, lv: 'lv0', mode: 'EX', epoch });
    b.write('host1', worker, 'lv0', epoch, 0n, 0);
    const request = { host: 'host1', worker, lv: 'lv0', epoch };
    b.events.push({ kind: 'deactivate-start', tNs: b.tick(), ...request });
    b.tick(8n * SECOND_NS);
    b.events.push({ kind: 'deactivate-fail', tNs: b.tick(), ...request, code: 'lockspace lvm_vg0 lost its lease' });
    b.workerExit('host1', worker);
    while (b.tick() < hung + MIN_TAKEOVER_DELAY_NS);
    b.activate('host2', 'lv0', 'EX');
    const result = checkHistory(b.input());
    expect(result.violations).toEqual([]);
    expect(result.counts.takeovers).toBe(1);
  });

  it('accepts a takeover after a rebooted host joined again, before the deadline', () => {
    const b = new HistoryBuilder(LVS);
    const held = b.activate('host1', 'lv0', 'EX');
    b.fault('host1', 'power-cycle');
    b.reset('host1');
    b.workerExit('host1', held.worker, 'SIGKILL');
    b.tick(2n * SECOND_NS);
    b.boot('host1');
    b.activate('host2', 'lv0', 'EX');
    expect(kinds(b)).toEqual([]);
  });
});

describe('checker: planted violations', () => {
  it('two hosts exclusive at once', () => {
    const b = new HistoryBuilder(LVS);
    const a = b.activate('host1', 'lv0', 'EX');
    b.write('host1', a.worker, 'lv0', a.epoch, 0n, 0);
    const c = b.activate('host2', 'lv0', 'EX');
    b.write('host2', c.worker, 'lv0', c.epoch, 0n, 1);
    b.deactivate('host1', a.worker, 'lv0', a.epoch);
    b.deactivate('host2', c.worker, 'lv0', c.epoch);
    expect(kinds(b)).toContain('ex-overlap');
  });

  it('exclusive while another host has it shared', () => {
    const b = new HistoryBuilder(LVS);
    const reader = b.activate('host1', 'lv0', 'SH');
    const writer = b.activate('host2', 'lv0', 'EX');
    b.deactivate('host2', writer.worker, 'lv0', writer.epoch);
    b.deactivate('host1', reader.worker, 'lv0', reader.epoch);
    expect(kinds(b)).toContain('ex-sh-overlap');
  });

  it('an overlap that only the writer deaths bound: the kill came after the other host started', () => {
    const b = new HistoryBuilder(LVS);
    const a = b.activate('host1', 'lv0', 'EX');
    b.fault('host1', 'storage-hang');
    b.tick(MIN_TAKEOVER_DELAY_NS + SECOND_NS);
    b.activate('host2', 'lv0', 'EX');
    b.workerExit('host1', a.worker, 'SIGKILL');
    expect(kinds(b)).toEqual(['ex-overlap']);
  });

  it('an acknowledged write that is not on the device', () => {
    const b = new HistoryBuilder(LVS);
    b.cleanCycle('host1', 'lv0', [0, 1]);
    b.setSlot('lv0', 1, new Uint8Array(512));
    expect(kinds(b)).toEqual(['lost-write']);
  });

  it('an acknowledged write replaced by an older one (a stale write landing late)', () => {
    const b = new HistoryBuilder(LVS);
    b.cleanCycle('host1', 'lv0', [3]);
    const stale = b.images.get('lv0')?.[3];
    b.cleanCycle('host2', 'lv0', [3]);
    if (stale === undefined || stale.kind !== 'record') throw new Error('setup');
    const { record } = stale;
    b.setSlot('lv0', 3, encodeRecord(record));
    const found = checkHistory(b.input()).violations;
    expect(found.map((v) => v.kind)).toEqual(['lost-write']);
    expect(found[0]?.message).toMatch(/host2 epoch \d+ seq 0/);
  });

  it('a takeover before the fenced host deadline', () => {
    const b = new HistoryBuilder(LVS);
    const a = b.activate('host1', 'lv0', 'EX');
    b.fault('host1', 'freeze-long');
    b.tick(4n * SECOND_NS);
    b.reset('host1');
    b.workerExit('host1', a.worker, 'SIGKILL');
    b.tick(2n * SECOND_NS);
    b.activate('host2', 'lv0', 'EX');
    expect(kinds(b)).toEqual(['early-takeover']);
  });

  it('a takeover before the deadline of a host whose deactivation was refused before it froze', () => {
    const b = new HistoryBuilder(LVS);
    const a = b.activate('host1', 'lv0', 'EX');
    const request = { host: 'host1', worker: a.worker, lv: 'lv0', epoch: a.epoch };
    b.events.push({ kind: 'deactivate-start', tNs: b.tick(), ...request });
    b.events.push({ kind: 'deactivate-fail', tNs: b.tick(), ...request, code: 'Logical volume vg0/lv0 in use.' });
    b.fault('host1', 'freeze-long');
    b.tick(SECOND_NS);
    b.activate('host2', 'lv0', 'EX');
    expect(kinds(b)).toEqual(['early-takeover']);
  });

  it('a takeover before the deadline of a host whose restarted daemon resumed its delta lease', () => {
    const b = new HistoryBuilder(LVS);
    const held = b.activate('host5', 'lv0', 'EX');
    b.fault('host5', 'kill-daemon');
    b.workerExit('host5', held.worker);
    b.tick(SECOND_NS);
    b.events.push({ kind: 'daemon-start', tNs: b.tick(), host: 'host5', newGeneration: false });
    b.tick(2n * SECOND_NS);
    b.activate('host2', 'lv0', 'EX');
    expect(kinds(b)).toEqual(['early-takeover']);
  });

  it('a takeover before the deadline of a storage hang that began while the activation was being answered', () => {
    const b = new HistoryBuilder(LVS);
    const worker = b.newWorker('host1');
    const epoch = b.tick();
    b.events.push({ kind: 'activate-start', tNs: epoch, host: 'host1', worker, lv: 'lv0', mode: 'EX', epoch });
    b.fault('host1', 'storage-hang');
    b.events.push({ kind: 'activate-ok', tNs: b.tick(), host: 'host1', worker, lv: 'lv0', mode: 'EX', epoch });
    b.workerExit('host1', worker);
    b.tick(2n * SECOND_NS);
    b.activate('host2', 'lv0', 'EX');
    expect(kinds(b)).toEqual(['early-takeover']);
  });

  it('a takeover from a host whose only fault came before it asked for the LV', () => {
    const b = new HistoryBuilder(LVS);
    b.fault('host1', 'storage-hang');
    const a = b.activate('host1', 'lv0', 'EX');
    b.workerExit('host1', a.worker, 'SIGKILL');
    b.tick(60n * SECOND_NS);
    b.activate('host2', 'lv0', 'EX');
    expect(kinds(b)).toEqual(['takeover-of-live-lease']);
  });

  it('a takeover from a healthy host whose lease was never released', () => {
    const b = new HistoryBuilder(LVS);
    const a = b.activate('host1', 'lv0', 'EX');
    b.fault('host1', 'kill-writer');
    b.workerExit('host1', a.worker, 'SIGKILL');
    b.tick(60n * SECOND_NS);
    b.activate('host2', 'lv0', 'EX');
    expect(kinds(b)).toEqual(['takeover-of-live-lease']);
  });

  it('a record no writer issued, one in the wrong slot, and torn bytes', () => {
    const b = new HistoryBuilder(LVS);
    b.cleanCycle('host1', 'lv0', [0]);
    b.setSlot('lv1', 2, encodeRecord({ hostIndex: 3, slot: 2, epoch: 77n, seq: 0n, issuedAtNs: 5n, lv: 'lv1' }));
    b.setSlot('lv1', 4, encodeRecord({ hostIndex: 1, slot: 0, epoch: 1n, seq: 0n, issuedAtNs: 5n, lv: 'lv0' }));
    const torn = encodeRecord({ hostIndex: 1, slot: 5, epoch: 1n, seq: 0n, issuedAtNs: 5n, lv: 'lv2' });
    torn.fill(0, 256);
    const w = b.activate('host1', 'lv2', 'EX');
    b.write('host1', w.worker, 'lv2', w.epoch, 0n, 5, { ack: false, land: false });
    b.setSlot('lv2', 5, torn);
    expect(kinds(b).sort()).toEqual(['corrupt-record', 'misplaced-record', 'phantom-record']);
  });

  it('a writer that read back something else', () => {
    const b = new HistoryBuilder(LVS);
    const a = b.activate('host1', 'lv0', 'EX');
    b.write('host1', a.worker, 'lv0', a.epoch, 0n, 0);
    b.read('host1', a.worker, 'lv0', a.epoch, 0, 'mismatch');
    expect(kinds(b)).toEqual(['readback']);
  });
});

describe('checker: the peer hosts', () => {
  /** host4 runs the real lvmlockd + sanlock, host5 the plain sanlock (their writers are named so in a run). */
  const PEERS = [
    { host: 'host4', kind: 'lvmlockd' },
    { host: 'host5', kind: 'sanlock' },
  ];

  it('counts each peer activations and takeovers apart, on a second line, and finds nothing in clean turns', () => {
    const b = new HistoryBuilder(LVS);
    b.cleanCycle('host1', 'lv0', [0, 1]);
    b.cleanCycle('host4', 'lv0', [1, 2]);
    b.cleanCycle('host5', 'lv0', [2, 3]);
    b.cleanCycle('host4', 'lv1', [0]);
    // host2 is fenced holding lv1; the sanlock peer takes it after the deadline.
    const held = b.activate('host2', 'lv1', 'EX');
    b.write('host2', held.worker, 'lv1', held.epoch, 0n, 4);
    b.fault('host2', 'freeze-long');
    b.reset('host2');
    b.workerExit('host2', held.worker, 'SIGKILL');
    b.tick(MIN_TAKEOVER_DELAY_NS + SECOND_NS);
    b.cleanCycle('host5', 'lv1', [5]);
    const result = checkHistory({ ...b.input(), peers: PEERS });
    expect(result.violations).toEqual([]);
    expect(result.counts.activations).toBe(6);
    expect(result.counts.takeovers).toBe(1);
    expect(result.counts.peers).toEqual([
      { host: 'host4', kind: 'lvmlockd', activations: 2, takeovers: 0 },
      { host: 'host5', kind: 'sanlock', activations: 2, takeovers: 1 },
    ]);
    expect(peersLine(result)).toBe(
      'chaos peers: host4 lvmlockd 2 activations 0 takeovers, host5 sanlock 2 activations 1 takeovers',
    );
    expect(peersLine(checkHistory(b.input()))).toBeUndefined();
  });

  it('an lvmlockd peer exclusive while a leasehold host has the LV exclusive', () => {
    const b = new HistoryBuilder(LVS);
    const ours = b.activate('host1', 'lv2', 'EX');
    b.write('host1', ours.worker, 'lv2', ours.epoch, 0n, 0);
    const peer = b.activate('host4', 'lv2', 'EX');
    b.write('host4', peer.worker, 'lv2', peer.epoch, 0n, 1);
    b.deactivate('host4', peer.worker, 'lv2', peer.epoch);
    b.deactivate('host1', ours.worker, 'lv2', ours.epoch);
    const result = checkHistory({ ...b.input(), peers: PEERS });
    expect(result.violations.map((violation) => violation.kind)).toEqual(['ex-overlap', 'takeover-of-live-lease']);
    expect(result.violations[0]?.message).toContain('host4 EX epoch');
  });

  it('a leasehold host exclusive while the sanlock peer holds the LV, and a peer record that no peer issued', () => {
    const b = new HistoryBuilder(LVS);
    const peer = b.activate('host5', 'lv0', 'EX');
    b.write('host5', peer.worker, 'lv0', peer.epoch, 0n, 0);
    const ours = b.activate('host2', 'lv0', 'EX');
    b.write('host2', ours.worker, 'lv0', ours.epoch, 0n, 0);
    b.deactivate('host2', ours.worker, 'lv0', ours.epoch);
    b.deactivate('host5', peer.worker, 'lv0', peer.epoch);
    b.setSlot(
      'lv0',
      3,
      encodeRecord({ hostIndex: 5, slot: 3, epoch: peer.epoch, seq: 7n, issuedAtNs: b.now, lv: 'lv0' }),
    );
    expect(checkHistory({ ...b.input(), peers: PEERS }).violations.map((violation) => violation.kind)).toEqual([
      'ex-overlap',
      'takeover-of-live-lease',
      'phantom-record',
    ]);
  });
});

// ------------------------------------------------------------------------------ generated histories

type Step =
  | { kind: 'clean'; host: number; lv: number; slots: number[] }
  | { kind: 'killed-writer'; host: number; lv: number; slots: number[]; tailLands: boolean }
  | { kind: 'fenced'; host: number; lv: number; slots: number[]; fault: 'freeze-long' | 'storage-hang' | 'power-cycle' }
  | { kind: 'shared'; hosts: number[]; lv: number };

const slotsArb = fc.array(fc.integer({ min: 0, max: SLOTS_PER_LV - 1 }), { minLength: 1, maxLength: 5 });
const hostArb = fc.integer({ min: 1, max: 4 });
const lvArb = fc.integer({ min: 0, max: LVS.length - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('clean' as const), host: hostArb, lv: lvArb, slots: slotsArb }),
  fc.record({
    kind: fc.constant('killed-writer' as const),
    host: hostArb,
    lv: lvArb,
    slots: slotsArb,
    tailLands: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('fenced' as const),
    host: hostArb,
    lv: lvArb,
    slots: slotsArb,
    fault: fc.constantFrom('freeze-long' as const, 'storage-hang' as const, 'power-cycle' as const),
  }),
  fc.record({
    kind: fc.constant('shared' as const),
    hosts: fc.uniqueArray(hostArb, { minLength: 1, maxLength: 3 }),
    lv: lvArb,
  }),
);

/** Plays steps one LV use after another, as a correct cluster would. */
function play(steps: readonly Step[]): HistoryBuilder {
  const b = new HistoryBuilder(LVS);
  for (const step of steps) {
    if (step.kind === 'shared') {
      const lv = LVS[step.lv]!;
      const readers = step.hosts.map((host) => ({ host: `host${host}`, ...b.activate(`host${host}`, lv, 'SH') }));
      for (const r of readers) b.read(r.host, r.worker, lv, r.epoch, 0, 'ok');
      for (const r of readers) {
        b.deactivate(r.host, r.worker, lv, r.epoch);
        b.workerExit(r.host, r.worker);
      }
      continue;
    }
    const host = `host${step.host}`;
    const lv = LVS[step.lv]!;
    if (step.kind === 'clean') {
      b.cleanCycle(host, lv, step.slots);
      continue;
    }
    const { epoch, worker } = b.activate(host, lv, 'EX');
    step.slots.forEach((slot, seq) => {
      b.write(host, worker, lv, epoch, BigInt(seq), slot);
    });
    if (step.kind === 'killed-writer') {
      b.write(host, worker, lv, epoch, BigInt(step.slots.length), step.slots[0]!, {
        ack: false,
        land: step.tailLands,
      });
      b.fault(host, 'kill-writer');
      b.workerExit(host, worker, 'SIGKILL');
      b.deactivate(host, 'harness', lv, null);
      continue;
    }
    b.fault(host, step.fault);
    b.tick(SECOND_NS);
    b.reset(host);
    b.workerExit(host, worker, 'SIGKILL');
    b.tick(MIN_TAKEOVER_DELAY_NS);
    b.boot(host);
  }
  return b;
}

describe('checker: generated histories', () => {
  it('finds no violation in any valid history', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        const result = checkHistory(play(steps).input());
        expect(result.violations).toEqual([]);
        expect(result.counts.takeovers).toBeLessThanOrEqual(steps.filter((s) => s.kind === 'fenced').length);
      }),
    );
  });

  it('finds every acknowledged write removed from the device', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 30 }), fc.nat(), (steps, pick) => {
        const b = play(steps);
        const acked = new Set(
          b.events.filter((e) => e.kind === 'write-ok').map((e) => (e.kind === 'write-ok' ? `${e.lv}/${e.slot}` : '')),
        );
        const holders = [...b.images].flatMap(([lv, slots]) =>
          slots.flatMap((slot, index) =>
            slot.kind === 'record' && acked.has(`${lv}/${index}`) ? [{ lv, index }] : [],
          ),
        );
        fc.pre(holders.length > 0);
        const victim = holders[pick % holders.length]!;
        b.setSlot(victim.lv, victim.index, new Uint8Array(512));
        expect(checkHistory(b.input()).violations.map((v) => v.kind)).toContain('lost-write');
      }),
    );
  });

  it('finds a takeover moved before the deadline in any history with one', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 20 }), hostArb, lvArb, (steps, victim, lvIndex) => {
        const b = play(steps);
        const lv = LVS[lvIndex]!;
        const held = b.activate(`host${victim}`, lv, 'EX');
        b.fault(`host${victim}`, 'freeze-long');
        b.tick(MIN_TAKEOVER_DELAY_NS / 2n);
        b.reset(`host${victim}`);
        b.workerExit(`host${victim}`, held.worker, 'SIGKILL');
        b.activate(`host${(victim % 4) + 1}`, lv, 'EX');
        expect(checkHistory(b.input()).violations.map((v) => v.kind)).toEqual(['early-takeover']);
      }),
    );
  });
});
