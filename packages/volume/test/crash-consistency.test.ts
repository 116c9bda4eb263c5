/**
 * Crash consistency: a commit is recorded write by write (3 PVs, two mdas each), then cut after
 * every write, and inside every multi-sector write (torn: only the first sectors land). After each
 * cut leasehold and the real lvm, reading the same loop devices, must both see the old VG or the
 * new one, the same one, never neither and never a mix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Disk } from '@leasehold/disk';
import { makeLoopSet, makeLvmSandbox, type LoopSet, type LvmSandbox } from '@leasehold/testkit';
import {
  addPv,
  allocateExtents,
  commitVg,
  type DeviceOpener,
  directDeviceOpener,
  newLogicalVolume,
  newVolumeGroup,
  pvcreate,
  scanDevices,
} from '@leasehold/volume';
import type { VolumeGroup } from '@leasehold/lvm-format';
import { identity, lhVg, randomBytes } from './helpers.js';

const MIB = 1024 * 1024;
const VG = 'lhcrash';
const SECTOR = 512;

interface RecordedWrite {
  path: string;
  offsetBytes: number;
  data: Uint8Array;
}

/** Opens devices as usual for reads; write-opened disks record their writes instead of doing them. */
function recordingOpener(log: RecordedWrite[]): DeviceOpener {
  return {
    async open(path, options) {
      const disk = await directDeviceOpener.open(path, { write: false });
      if (!options.write) return disk;
      const recorder: Disk = {
        path: disk.path,
        sectorSize: disk.sectorSize,
        sizeBytes: disk.sizeBytes,
        read: (o, l) => disk.read(o, l),
        async write(offsetBytes, data) {
          log.push({ path, offsetBytes, data: data.slice() });
        },
        close: () => disk.close(),
      };
      return recorder;
    },
  };
}

async function apply(writes: RecordedWrite[]): Promise<void> {
  for (const w of writes) {
    const disk = await directDeviceOpener.open(w.path, { write: true });
    try {
      await disk.write(w.offsetBytes, w.data);
    } finally {
      await disk.close();
    }
  }
}

async function snapshot(writes: RecordedWrite[]): Promise<RecordedWrite[]> {
  const out: RecordedWrite[] = [];
  for (const w of writes) {
    const disk = await directDeviceOpener.open(w.path, { write: false });
    try {
      out.push({ path: w.path, offsetBytes: w.offsetBytes, data: await disk.read(w.offsetBytes, w.data.length) });
    } finally {
      await disk.close();
    }
  }
  return out;
}

/** Every cut of `writes`: after k whole writes, and with write k torn after each of its sectors. */
function cuts(writes: RecordedWrite[]): Array<{ name: string; landed: RecordedWrite[] }> {
  const out: Array<{ name: string; landed: RecordedWrite[] }> = [];
  for (let k = 0; k <= writes.length; k++) {
    out.push({ name: `after ${k} of ${writes.length} writes`, landed: writes.slice(0, k) });
    const next = writes[k];
    if (next === undefined) continue;
    const sectors = next.data.length / SECTOR;
    for (let j = 1; j < sectors; j++) {
      out.push({
        name: `after ${k} writes, write ${k + 1} torn after ${j} of ${sectors} sectors`,
        landed: [...writes.slice(0, k), { ...next, data: next.data.subarray(0, j * SECTOR) }],
      });
    }
  }
  return out;
}

let lvm: LvmSandbox;
let loops: LoopSet;

beforeAll(() => {
  lvm = makeLvmSandbox();
  loops = makeLoopSet([24 * MIB, 24 * MIB, 24 * MIB]);
});

afterAll(() => {
  loops?.cleanup();
  lvm?.cleanup();
});

function lvmSeqno(devs: readonly string[]): { seqno: number; lvs: string[] } | undefined {
  const r = lvm.run('vgs', ['--reportformat', 'json', '-o', 'vg_name,vg_seqno', VG], devs);
  if (r.status !== 0) return undefined;
  const rows = (JSON.parse(r.stdout) as { report: Array<{ vg: Array<Record<string, string>> }> }).report[0]?.vg ?? [];
  const lvRows = lvm.report('lvs', ['-o', 'lv_name', VG], devs);
  return { seqno: Number(rows[0]?.vg_seqno), lvs: lvRows.map((x) => x.lv_name ?? '').sort() };
}

async function checkAllCuts(change: (vg: VolumeGroup) => void, command: string): Promise<number> {
  const devs = loops.devices;
  const before = await lhVg(devs, VG);
  const oldLvs = before.vg.lvs.map((l) => l.name).sort();
  change(before.vg);
  const newLvs = before.vg.lvs.map((l) => l.name).sort();
  const log: RecordedWrite[] = [];
  await commitVg(before.vg, before.devices, identity(command), {
    seqno: before.seqno + 1,
    opener: recordingOpener(log),
  });
  const base = await snapshot(log);
  const all = cuts(log);
  for (const cut of all) {
    await apply(cut.landed);
    try {
      const seen = await lhVg(devs, VG);
      const lhLvs = seen.vg.lvs.map((l) => l.name).sort();
      expect([before.seqno, before.seqno + 1], cut.name).toContain(seen.seqno);
      expect(lhLvs, cut.name).toEqual(seen.seqno === before.seqno ? oldLvs : newLvs);
      const real = lvmSeqno(devs);
      expect(real, `lvm after ${cut.name}`).toEqual({
        seqno: seen.seqno,
        lvs: lhLvs.filter((n) => seen.vg.lvs.find((l) => l.name === n)?.status.includes('VISIBLE')),
      });
    } finally {
      await apply(base);
    }
  }
  return all.length;
}

describe('a commit cut at every write is seen old or new, the same by leasehold and lvm', () => {
  it('lvcreate across 3 PVs with two mdas each, and vgextend (a label write first)', async () => {
    const devs = loops.devices;
    for (const d of devs) await pvcreate(d, { randomBytes, metadataCopies: 2 });
    const scan = await scanDevices(devs);
    const vg = newVolumeGroup({ name: VG, devices: [], randomBytes, extentSizeSectors: 2048 });
    const [p0, p1, p2] = scan.pvs;
    if (p0 === undefined || p1 === undefined || p2 === undefined) throw new Error('scan');
    addPv(vg, p0);
    addPv(vg, p1);
    await commitVg(vg, new Map([p0, p1].map((d) => [d.label.pvId, d])), identity('vgcreate'), { seqno: 1 });
    // vgextend: the third PV's label gets the used flag first, then the text goes to 6 mdas
    const extendCuts = await (async () => {
      const before = await lhVg(devs, VG);
      const log: RecordedWrite[] = [];
      const third = (await scanDevices([devs[2] as string])).pvs[0];
      if (third === undefined) throw new Error('third PV');
      addPv(before.vg, third);
      const devices = new Map(before.devices);
      devices.set(third.label.pvId, third);
      await commitVg(before.vg, devices, identity('vgextend'), {
        seqno: before.seqno + 1,
        opener: recordingOpener(log),
      });
      expect(log.length).toBeGreaterThan(12);
      const base = await snapshot(log);
      const all = cuts(log);
      for (const cut of all) {
        await apply(cut.landed);
        try {
          const seen = await lhVg(devs, VG);
          expect([before.seqno, before.seqno + 1], cut.name).toContain(seen.seqno);
          expect(seen.vg.pvs.length, cut.name).toBe(seen.seqno === before.seqno ? 2 : 3);
          expect(lvmSeqno(devs)?.seqno, `lvm after ${cut.name}`).toBe(seen.seqno);
        } finally {
          await apply(base);
        }
      }
      await apply(log);
      return all.length;
    })();
    expect(extendCuts).toBeGreaterThan(20);
    // lvcreate across all three PVs (each area smaller than the LV, so it spans PVs)
    const n = await checkAllCuts((v) => {
      const lv = newLogicalVolume(v, { name: 'big', randomBytes, hostName: 'h', nowSeconds: 1 });
      lv.segments = allocateExtents({ vg: v, lvName: 'big', existing: [], extents: 40 });
      v.lvs.push(lv);
    }, 'lvcreate -n big -l 40');
    expect(n).toBeGreaterThan(18);
  }, 600_000);
});
