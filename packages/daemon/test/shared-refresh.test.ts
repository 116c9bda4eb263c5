/**
 * The receiving half of a shared extend (activations/shared-refresh.ts) with a recording command
 * runner: the refresh command runs once per seqno however often the event is delivered, for the LVs
 * behind it only, the answer carries the seqno refreshed to, events during a run are coalesced, and
 * a host with nothing active (or not behind an answer's seqno) does nothing.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger, type DeltaEvent } from '@leasehold/lease';
import { EVENT_LV_EXTENDED, EVENT_LV_REFRESHED, type ActivationInfo } from '@leasehold/protocol';
import { SharedRefresh, type CommandOutcome } from '../src/activations/shared-refresh.js';

const LS = 'lvm_vg1';

function activation(lvName: string, mappingSeqno: number): ActivationInfo {
  return {
    lockspace: LS,
    resource: `uuid-${lvName}`,
    path: '/dev/loop0',
    offsetBytes: 0,
    vgName: 'vg1',
    lvName,
    mode: 'SH',
    device: {
      backend: 'none',
      devicePath: null,
      linkPath: null,
      major: null,
      minor: null,
      sizeSectors: 8192,
    },
    activatedAt: '2026-01-01T00:00:00.000Z',
    mappingSeqno,
    origin: 'activated',
  };
}

function extended(seqno: number, fromHostId = 2, event = EVENT_LV_EXTENDED): DeltaEvent {
  return { fromHostId, fromGeneration: 1n, targetGeneration: 0n, event, data: BigInt(seqno) };
}

interface Sent {
  lockspace: string;
  hostId: number;
  event: bigint;
  data: bigint;
}

/** A host whose refresh command sets the named LVs' mapping seqno to `metadataSeqno` (what it reads). */
function makeHost(active: ActivationInfo[], options: { failing?: boolean } = {}) {
  const runs: string[][] = [];
  const sent: Sent[] = [];
  // What each run reads as the metadata's seqno (in turn; then metadataSeqno).
  const state = { metadataSeqno: 0, readings: [] as number[], gate: Promise.resolve() };
  const refresh = new SharedRefresh({
    activations: (lockspace) => active.filter((a) => a.lockspace === lockspace),
    setEvent: async (lockspace, hostId, event, data) => {
      sent.push({ lockspace, hostId, event, data });
    },
    command: ['/usr/sbin/leasehold', 'lvchange', '--refresh'],
    env: { LEASEHOLD_SOCKET: '/run/test.sock' },
    run: async (argv, env): Promise<CommandOutcome> => {
      runs.push([...argv]);
      expect(env['LEASEHOLD_SOCKET']).toBe('/run/test.sock');
      await state.gate;
      if (options.failing === true) return { status: 5, output: 'refresh failed' };
      const seqno = state.readings.shift() ?? state.metadataSeqno;
      for (const a of active) if (argv.includes(`${a.vgName}/${a.lvName}`)) a.mappingSeqno = seqno;
      return { status: 0, output: '' };
    },
    logger: silentLogger,
  });
  return { refresh, runs, sent, state };
}

describe('shared extend: refreshing on EVENT_LV_EXTENDED', () => {
  it('runs the command once for the LVs behind the seqno, however often the event is delivered, and answers', async () => {
    const host = makeHost([activation('lv1', 4), activation('lv2', 7)]);
    host.state.metadataSeqno = 7;
    for (let i = 0; i < 3; i++) host.refresh.onEvent(LS, extended(7));
    await host.refresh.idle(LS);
    host.refresh.onEvent(LS, extended(7));
    await host.refresh.idle(LS);
    expect(host.runs).toEqual([['/usr/sbin/leasehold', 'lvchange', '--refresh', 'vg1/lv1']]);
    expect(host.sent).toEqual([{ lockspace: LS, hostId: 2, event: EVENT_LV_REFRESHED, data: 7n }]);
  });

  it('coalesces events that arrive during a run into one more run for the highest seqno', async () => {
    const host = makeHost([activation('lv1', 4)]);
    let open!: () => void;
    host.state.gate = new Promise((resolve) => (open = resolve));
    // The first run reads the metadata at seqno 5, the second at 8.
    host.state.readings = [5, 8];
    host.refresh.onEvent(LS, extended(5));
    host.refresh.onEvent(LS, extended(6, 3));
    host.refresh.onEvent(LS, extended(8, 3));
    host.refresh.onEvent(LS, extended(6, 3));
    await new Promise((resolve) => setImmediate(resolve));
    expect(host.runs).toHaveLength(1);
    open();
    await host.refresh.idle(LS);
    expect(host.runs).toHaveLength(2);
    // The first answer goes to the first sender with what this host followed then; the second to host 3.
    expect(host.sent.map((s) => [s.hostId, s.data])).toEqual([
      [2, 5n],
      [3, 8n],
    ]);
  });

  it('answers with the oldest seqno followed when the command fails', async () => {
    const host = makeHost([activation('lv1', 4)], { failing: true });
    host.refresh.onEvent(LS, extended(9));
    await host.refresh.idle(LS);
    expect(host.runs).toHaveLength(1);
    expect(host.sent).toEqual([{ lockspace: LS, hostId: 2, event: EVENT_LV_REFRESHED, data: 4n }]);
  });

  it('does nothing without an activation in the lockspace, or for events that are not its own', async () => {
    const host = makeHost([]);
    host.refresh.onEvent(LS, extended(9));
    await host.refresh.idle(LS);
    const other = makeHost([activation('lv1', 4)]);
    other.refresh.onEvent(LS, extended(9, 2, 77n));
    other.refresh.onEvent('lvm_other', extended(9));
    await other.refresh.idle(LS);
    expect([host.runs, host.sent, other.runs, other.sent]).toEqual([[], [], [], []]);
  });

  it('acts on an answer only when it shows this host behind (an extend whose event was replaced)', async () => {
    const host = makeHost([activation('lv1', 6)]);
    host.state.metadataSeqno = 8;
    host.refresh.onEvent(LS, extended(6, 3, EVENT_LV_REFRESHED));
    await host.refresh.idle(LS);
    expect(host.runs).toEqual([]);
    host.refresh.onEvent(LS, extended(8, 3, EVENT_LV_REFRESHED));
    await host.refresh.idle(LS);
    expect(host.runs).toEqual([['/usr/sbin/leasehold', 'lvchange', '--refresh', 'vg1/lv1']]);
    expect(host.sent).toEqual([{ lockspace: LS, hostId: 3, event: EVENT_LV_REFRESHED, data: 8n }]);
  });
});
