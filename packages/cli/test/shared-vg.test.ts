/**
 * Shared VGs between two leasehold hosts (two daemons, host_id 1 and 2, separate lock dirs) on loop
 * devices: vgcreate --shared writes exactly lvmlockd's lvmlock image and starts the lockspace; LVs get
 * and give back lease slots; VGLK's value block carries every seqno; the other host starts the VG with
 * `lockstart VG` and sees each change at once; random commands from both hosts at once lose no
 * acknowledged change; racing vgcreates never make two VGs of one name or one PV in two VGs; the
 * global lock starts in the first VG and moves at its vgremove; bad input is refused, nothing written.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDirectDisk } from '@leasehold/disk/direct';
import { formatUuid, lvExtentCount } from '@leasehold/lvm-format';
import {
  FIRST_LV_SLOT,
  GL_SLOT,
  LVM_VALUE_BLOCK_VERSION,
  VG_SLOT,
  buildLockspaceArea,
  lvmlockResourceArea,
  decodeLeader,
  decodeLvmValueBlock,
  encodeLvmValueBlock,
  lockLvInitialBytes,
  lvbSectorOffset,
  lvmlockGeometry,
  lvmlockInitialSlots,
  slotCount,
  slotOffsetBytes,
} from '@leasehold/ondisk';
import { readVolumes } from '@leasehold/volume';
import { makeLoopSet, type LoopSet } from '@leasehold/testkit';
import { CLI_PATH, TestDaemon, TestDir } from '../../daemon/test/support/harness.js';

const MIB = 1024 * 1024;
const geometry = lvmlockGeometry(512);
const PE_START = MIB;
/**
 * How long the two hosts run random commands at once: the issue asks for a few minutes, so CI runs
 * 150 s; SHARED_VG_RANDOM_SECONDS sets another length.
 */
const RANDOM_RUN_MS = Number(process.env.SHARED_VG_RANDOM_SECONDS ?? 150) * 1000;

interface Host {
  name: string;
  hostId: number;
  daemon: TestDaemon;
  env: NodeJS.ProcessEnv;
}

let dir: TestDir;
let loops: LoopSet;
let hostA: Host;
let hostB: Host;

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

function lh(host: Host, args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { ...process.env, ...host.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

async function ok(host: Host, args: string[]): Promise<string> {
  const result = await lh(host, args);
  if (result.status !== 0)
    throw new Error(
      `${host.name}: leasehold ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

async function readAt(device: string, offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
  const disk = await openDirectDisk(device, { readOnly: true });
  try {
    return new Uint8Array(await disk.read(offsetBytes, lengthBytes));
  } finally {
    await disk.close();
  }
}

async function writeAt(device: string, offsetBytes: number, data: Uint8Array): Promise<void> {
  const disk = await openDirectDisk(device);
  try {
    await disk.write(offsetBytes, data);
  } finally {
    await disk.close();
  }
}

async function slotName(device: string, slot: number): Promise<string> {
  return decodeLeader(await readAt(device, PE_START + slotOffsetBytes(slot, geometry), 512), 0).resourceName;
}

async function valueBlock(device: string, slot: number): Promise<{ version: number; flags: number; rVersion: number }> {
  const at = PE_START + lvbSectorOffset(slotOffsetBytes(slot, geometry), geometry);
  return decodeLvmValueBlock(await readAt(device, at, 512));
}

async function vgOf(name: string) {
  const state = await readVolumes({ devices: loops.devices });
  return state.result.vgs.find((v) => v.name === name);
}

function makeHost(name: string, hostId: number): Host {
  const hostDir = dir.file(name);
  mkdirSync(`${hostDir}/lock`, { recursive: true });
  const hostIdFile = `${hostDir}/host-id.conf`;
  writeFileSync(hostIdFile, `* = ${hostId}\n`);
  const conf = `${hostDir}/leasehold.conf`;
  writeFileSync(
    conf,
    `io_timeout = 1\ndevices = ${loops.devices.join(', ')}\nlocking_dir = ${hostDir}/lock\nhost_id_file = ${hostIdFile}\n`,
  );
  const daemon = new TestDaemon(dir, { name, hostIdFile, logLevel: 'info' });
  return { name, hostId, daemon, env: { LEASEHOLD_SOCKET: daemon.socketPath, LEASEHOLD_CONFIG: conf } };
}

beforeAll(async () => {
  dir = new TestDir();
  loops = makeLoopSet([600 * MIB, 300 * MIB, 300 * MIB, 300 * MIB, 800 * MIB, 100 * MIB, 100 * MIB]);
  hostA = makeHost('hostA', 1);
  hostB = makeHost('hostB', 2);
  await hostA.daemon.start();
  await hostB.daemon.start();
}, 60_000);

afterAll(async () => {
  await hostA?.daemon.kill().catch(() => undefined);
  await hostB?.daemon.kill().catch(() => undefined);
  loops?.cleanup();
  dir?.cleanup();
});

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('shared VGs between two leasehold hosts', () => {
  it('vgcreate --shared writes lvmlockd metadata and lvmlock image, and starts the lockspace', async () => {
    const [d0] = loops.devices as [string];
    const out = await ok(hostA, ['vgcreate', '--shared', 'svA', d0]);
    expect(out).toContain('Enabling sanlock global lock');
    expect(out).toContain('Volume group "svA" successfully created');
    const read = await vgOf('svA');
    expect(read?.vg.lockType).toBe('sanlock');
    expect(read?.vg.lockArgs).toBe('1.0.0:lvmlock');
    const lockLv = read?.vg.lvs.find((lv) => lv.name === 'lvmlock');
    expect(lockLv?.status).toEqual(['READ', 'WRITE']);
    expect(lockLv?.segments).toEqual([
      expect.objectContaining({ startExtent: 0, extentCount: 64, stripes: [{ pvKey: 'pv0', startPe: 0 }] }),
    ]);
    const text = new TextDecoder().decode(read?.devices.values().next().value?.mdas[0]?.text ?? new Uint8Array());
    expect(text).toMatch(/flags = \["WRITE_LOCKED"\]\s+lock_type = "sanlock"\s+lock_args = "1\.0\.0:lvmlock"/);
    // Every slot is what lvmlockd writes; slot 0 except host 1's own sector (it joined).
    for (const slot of lvmlockInitialSlots({
      vgName: 'svA',
      geometry,
      lockLvBytes: lockLvInitialBytes(geometry),
      globalLock: 'enabled',
      ioTimeoutSeconds: 1,
    })) {
      const found = await readAt(d0, PE_START + slot.offsetBytes, geometry.alignBytes);
      if (slot.slot === 0)
        expect(sha(found.subarray(512)), 'lockspace area after host 1').toBe(sha(slot.bytes.subarray(512)));
      else expect(sha(found), `slot ${slot.slot} (${String(slot.resourceName)})`).toBe(sha(slot.bytes));
    }
    const status = await hostA.daemon.with((client) => client.status());
    expect(status.lockspaces).toEqual([
      expect.objectContaining({ lockspace: 'lvm_svA', state: 'joined', hostId: 1, path: d0, offsetBytes: PE_START }),
    ]);
  }, 120_000);

  it('lvcreate takes the lowest #unused slot, lvremove gives it back, VGLK carries each seqno', async () => {
    const [d0] = loops.devices as [string];
    await ok(hostA, ['lvcreate', '-an', '-n', 'lv1', '-L', '8m', 'svA']);
    await ok(hostA, ['lvcreate', '-an', '-n', 'lv2', '-L', '8m', 'svA']);
    let read = await vgOf('svA');
    const lv1 = read?.vg.lvs.find((l) => l.name === 'lv1');
    expect(lv1?.lockArgs).toBe(`1.0.0:${slotOffsetBytes(FIRST_LV_SLOT, geometry)}`);
    expect(read?.vg.lvs.find((l) => l.name === 'lv2')?.lockArgs).toBe(
      `1.0.0:${slotOffsetBytes(FIRST_LV_SLOT + 1, geometry)}`,
    );
    expect(await slotName(d0, FIRST_LV_SLOT)).toBe(formatUuid(lv1?.id ?? ''));
    expect(await valueBlock(d0, VG_SLOT)).toEqual({
      version: LVM_VALUE_BLOCK_VERSION,
      flags: 0,
      rVersion: read?.seqno,
    });
    await ok(hostA, ['lvremove', '-f', 'svA/lv1']);
    expect(await slotName(d0, FIRST_LV_SLOT)).toBe('#unused');
    await ok(hostA, ['lvcreate', '-an', '-n', 'lv3', '-L', '4m', 'svA']);
    read = await vgOf('svA');
    expect(read?.vg.lvs.find((l) => l.name === 'lv3')?.lockArgs).toBe(
      `1.0.0:${slotOffsetBytes(FIRST_LV_SLOT, geometry)}`,
    );
    expect((await valueBlock(d0, VG_SLOT)).rVersion).toBe(read?.seqno);
  }, 120_000);

  it('the other host starts the VG with lockstart VG and sees changes at once', async () => {
    // No VG named: every shared VG found (the systemd unit's form).
    const started = await ok(hostB, ['lockstart', '--wait']);
    expect(started).toContain('VG svA starting sanlock lockspace');
    const status = await hostB.daemon.with((client) => client.status());
    expect(status.lockspaces).toEqual([expect.objectContaining({ lockspace: 'lvm_svA', state: 'joined', hostId: 2 })]);
    await ok(hostB, ['lvcreate', '-an', '-n', 'fromB', '-L', '4m', 'svA']);
    expect(await ok(hostA, ['lvs', '--noheadings', '-o', 'lv_name', 'svA'])).toContain('fromB');
    await ok(hostA, ['lvextend', '-L', '+4m', 'svA/fromB']);
    expect(await ok(hostB, ['lvs', '--noheadings', '--units', 'm', '-o', 'lv_size', 'svA/fromB'])).toContain('8.00m');
  }, 120_000);

  it(
    'random changes from both hosts at once: every acknowledged change is there, no extents overlap, seqno only grows',
    async () => {
      const [d0] = loops.devices as [string];
      const deadline = Date.now() + RANDOM_RUN_MS;
      const expected = new Map<string, number>(); // LV -> extents (acknowledged)
      const removed = new Set<string>();
      const uncertain = new Set<string>();
      const seqnos: number[][] = [[], []];
      const run = async (host: Host, index: number): Promise<void> => {
        let n = 0;
        const mine: string[] = [];
        while (Date.now() < deadline) {
          const pick = Math.random();
          if (pick < 0.5 || mine.length === 0) {
            const name = `${host.name}_${n++}`;
            const result = await lh(host, ['lvcreate', '-an', '-n', name, '-L', '4m', 'svA']);
            if (result.status === 0) {
              expected.set(name, 1);
              mine.push(name);
            } else uncertain.add(name);
          } else if (pick < 0.8) {
            const name = mine.splice(Math.floor(Math.random() * mine.length), 1)[0] as string;
            const result = await lh(host, ['lvremove', '-f', `svA/${name}`]);
            if (result.status === 0) {
              expected.delete(name);
              removed.add(name);
            } else uncertain.add(name);
          } else {
            const name = mine[Math.floor(Math.random() * mine.length)] as string;
            const result = await lh(host, ['lvextend', '-l', '+1', `svA/${name}`]);
            if (result.status === 0) expected.set(name, (expected.get(name) ?? 0) + 1);
            else uncertain.add(name);
          }
          const seqno = await lh(host, ['vgs', '--noheadings', '-o', 'vg_seqno', 'svA']);
          if (seqno.status === 0) seqnos[index]?.push(Number(seqno.stdout.trim()));
        }
      };
      await Promise.all([run(hostA, 0), run(hostB, 1)]);
      expect(expected.size + removed.size, 'acknowledged changes').toBeGreaterThan(4);
      const read = await vgOf('svA');
      if (read === undefined) throw new Error('svA is gone');
      expect(read.warnings).toEqual([]);
      for (const [name, extents] of expected) {
        const lv = read.vg.lvs.find((l) => l.name === name);
        expect(lv, `acknowledged LV ${name}`).toBeDefined();
        if (!uncertain.has(name)) expect(lvExtentCount(lv as never), name).toBe(extents);
      }
      for (const name of removed)
        expect(
          read.vg.lvs.some((l) => l.name === name),
          `removed LV ${name}`,
        ).toBe(false);
      // No PE is used twice.
      const used = new Set<string>();
      for (const lv of read.vg.lvs) {
        for (const seg of lv.segments) {
          for (const stripe of seg.stripes) {
            for (let pe = stripe.startPe; pe < stripe.startPe + seg.extentCount / seg.stripes.length; pe++) {
              const key = `${stripe.pvKey}:${pe}`;
              expect(used.has(key), `PE ${key} used twice`).toBe(false);
              used.add(key);
            }
          }
        }
      }
      // Each LV holds its own slot; every other LV slot is #unused.
      const slots = new Map<number, string>();
      for (const lv of read.vg.lvs.filter((l) => l.name !== 'lvmlock')) {
        const offset = Number(lv.lockArgs?.split(':')[1]);
        expect(slots.has(offset), `slot ${offset} given twice`).toBe(false);
        slots.set(offset, formatUuid(lv.id));
      }
      for (let slot = FIRST_LV_SLOT; slot < slotCount(lockLvInitialBytes(geometry), geometry); slot++) {
        expect(await slotName(d0, slot), `slot ${slot}`).toBe(slots.get(slotOffsetBytes(slot, geometry)) ?? '#unused');
      }
      for (const list of seqnos) {
        expect(list.length).toBeGreaterThan(0);
        for (let i = 1; i < list.length; i++) expect(list[i] as number).toBeGreaterThanOrEqual(list[i - 1] as number);
      }
      expect((await valueBlock(d0, VG_SLOT)).rVersion).toBe(read.seqno);
      expect((await lh(hostA, ['vgck', 'svA'])).status).toBe(0);
    },
    RANDOM_RUN_MS + 180_000,
  );

  it('a second shared VG gets _GLLK_disabled, and vgcreate bumps the global version in GLLK', async () => {
    const [d0, d1] = loops.devices as [string, string];
    const before = (await valueBlock(d0, GL_SLOT)).rVersion;
    const out = await ok(hostB, ['vgcreate', '--shared', 'svB', d1]);
    expect(out).not.toContain('Enabling sanlock global lock');
    expect(await slotName(d1, GL_SLOT)).toBe('_GLLK_disabled');
    expect(await valueBlock(d0, GL_SLOT)).toEqual({ version: LVM_VALUE_BLOCK_VERSION, flags: 0, rVersion: before + 1 });
    await ok(hostA, ['lockstart', '--wait', 'svB']);
  }, 120_000);

  it('vgcreates racing on two hosts never make two VGs of one name or one PV in two VGs', async () => {
    const [, , d2, d3] = loops.devices as [string, string, string, string];
    const same = await Promise.all([
      lh(hostA, ['vgcreate', '--shared', 'svR', d2]),
      lh(hostB, ['vgcreate', '--shared', 'svR', d2]),
    ]);
    expect(same.filter((r) => r.status === 0)).toHaveLength(1);
    // Whichever host lost the race joins svR too, so that what follows does not depend on the race
    // (a report of every VG on a host without svR's lockspace says it read svR without a lock).
    await ok(same[0]?.status === 0 ? hostB : hostA, ['lockstart', '--wait', 'svR']);
    const other = await Promise.all([lh(hostA, ['vgcreate', 'lcX', d3]), lh(hostB, ['vgcreate', 'lcY', d3])]);
    expect(other.filter((r) => r.status === 0)).toHaveLength(1);
    const state = await readVolumes({ devices: loops.devices });
    expect(state.result.vgs.filter((v) => v.name === 'svR')).toHaveLength(1);
    const owners = (device: string) =>
      state.result.vgs.filter((v) => [...v.devices.values()].some((d) => d.path === device)).map((v) => v.name);
    expect(owners(d2)).toEqual(['svR']);
    expect(owners(d3)).toHaveLength(1);
  }, 180_000);

  it('vgremove is refused while another host has the lockspace; the global lock moves to a started VG', async () => {
    const [, d1] = loops.devices as [string, string];
    const refused = await lh(hostA, ['vgremove', '-f', 'svA']);
    expect(refused.status).toBe(5);
    expect(refused.stderr).toMatch(/Lockspace for "svA" not stopped on other hosts: host_id 2 \(\S+, LIVE\)/);
    expect(await vgOf('svA')).toBeDefined();
    await ok(hostB, ['lockstop', '--wait', 'svA']);
    const removed = await ok(hostA, ['vgremove', '-f', 'svA']);
    expect(removed).toContain('VG svA held the sanlock global lock; it is now enabled in VG svB.');
    expect(await slotName(d1, GL_SLOT)).toBe('GLLK');
    expect(await vgOf('svA')).toBeUndefined();
  }, 180_000);

  it('a full lvmlock grows by 256 MiB at lvcreate, in a second segment leasehold reaches through the PV', async () => {
    const d4 = loops.devices[4] as string;
    await ok(hostA, ['vgcreate', '--shared', 'svG', d4]);
    await ok(hostA, ['lvcreate', '-an', '-n', 'blocker', '-L', '4m', 'svG']);
    // Every other LV slot taken (by names no LV has): lvcreate must grow lvmlock.
    const slots = slotCount(lockLvInitialBytes(geometry), geometry);
    for (let slot = FIRST_LV_SLOT + 1; slot < slots; slot++) {
      await writeAt(
        d4,
        PE_START + slotOffsetBytes(slot, geometry),
        lvmlockResourceArea('svG', `taken-${slot}`, geometry),
      );
    }
    await ok(hostA, ['lvcreate', '-an', '-n', 'grown', '-L', '4m', 'svG']);
    const read = await vgOf('svG');
    const lockLv = read?.vg.lvs.find((l) => l.name === 'lvmlock');
    expect(lockLv?.segments.map((seg) => [seg.startExtent, seg.extentCount, seg.stripes[0]?.startPe])).toEqual([
      [0, 64, 0],
      [64, 64, 66],
    ]); // PE 64 blocker, 65 grown (allocated first), then lvmlock
    const grown = read?.vg.lvs.find((l) => l.name === 'grown');
    expect(grown?.lockArgs).toBe(`1.0.0:${slotOffsetBytes(slots, geometry)}`);
    // lvmlock offset 256 MiB is PE 66 of the PV: the lease named by the LV UUID, then #unused slots.
    const at = PE_START + 66 * 4 * MIB;
    expect(decodeLeader(await readAt(d4, at, 512), 0).resourceName).toBe(formatUuid(grown?.id ?? ''));
    expect(decodeLeader(await readAt(d4, at + MIB, 512), 0).resourceName).toBe('#unused');
    // The lease in the second segment works through the daemon: lvremove takes it, then frees it.
    await ok(hostA, ['lvremove', '-f', 'svG/grown']);
    expect(decodeLeader(await readAt(d4, at, 512), 0).resourceName).toBe('#unused');
    await ok(hostA, ['lvcreate', '-an', '-n', 'again', '-L', '4m', 'svG']);
    expect((await vgOf('svG'))?.vg.lvs.find((l) => l.name === 'again')?.lockArgs).toBe(
      `1.0.0:${slotOffsetBytes(slots, geometry)}`,
    );
    // vgextend changes the set of PVs: under GLLK (now in svB), whose global version moves on.
    const [, d1] = loops.devices as [string, string];
    const glBefore = (await valueBlock(d1, GL_SLOT)).rVersion;
    await ok(hostA, ['vgextend', 'svG', loops.devices[5] as string]);
    expect((await valueBlock(d1, GL_SLOT)).rVersion).toBe(glBefore + 1);
  }, 180_000);

  it('pvcreate and pvremove take GLLK EX; reports read a shared VG under VGLK SH, or say they read it without', async () => {
    const [, d1] = loops.devices as [string, string];
    const fresh = loops.devices[6] as string;
    // GLLK is in svB now (moved at svA's vgremove); both hosts have svB started.
    const before = (await valueBlock(d1, GL_SLOT)).rVersion;
    await ok(hostA, ['pvcreate', fresh]);
    expect((await valueBlock(d1, GL_SLOT)).rVersion).toBe(before + 1);
    await ok(hostB, ['pvremove', fresh]);
    expect((await valueBlock(d1, GL_SLOT)).rVersion).toBe(before + 2);
    // The global lock's VG not started on a host: pvcreate there fails, as with lvmlockd, and writes nothing.
    await ok(hostB, ['lockstop', '--wait', 'svB']);
    const label = sha(await readAt(fresh, 0, 4096));
    const refused = await lh(hostB, ['pvcreate', fresh]);
    expect(refused.status).toBe(5);
    expect(refused.stderr).toContain('Global lock failed: check that global lockspace is started');
    expect(sha(await readAt(fresh, 0, 4096))).toBe(label);
    // ... and a report there reads svB without its lock, saying so as lvm does.
    const unlocked = await lh(hostB, ['lvs', 'svB']);
    expect(unlocked.status).toBe(0);
    expect(unlocked.stderr).toContain('Reading VG svB without a lock.');
    await ok(hostB, ['lockstart', '--wait', 'svB']);
    // VGLK held EX by host B (a change in progress): host A's lvs waits for it, then reads under SH.
    const vglk = {
      lockspace: 'lvm_svB',
      resource: 'VGLK',
      path: d1,
      offsetBytes: PE_START + slotOffsetBytes(VG_SLOT, geometry),
    };
    await hostB.daemon.with(async (client) => {
      const lease = await client.acquire(vglk, { mode: 'EX' });
      const report = lh(hostA, ['lvs', '--noheadings', '-o', 'lv_name', 'svB']).then((r) => ({
        ...r,
        doneAt: Date.now(),
      }));
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const releasedAt = Date.now();
      await lease.release();
      const result = await report;
      expect(result.status).toBe(0);
      expect(result.stderr).not.toContain('without a lock');
      expect(result.doneAt).toBeGreaterThanOrEqual(releasedAt);
    });
    // VGLK held SH elsewhere does not hold a report up.
    await hostB.daemon.with(async (client) => {
      const lease = await client.acquire(vglk, { mode: 'SH' });
      try {
        const result = await lh(hostA, ['vgs', 'svB']);
        expect(result.status).toBe(0);
        expect(result.stderr).toBe('');
      } finally {
        await lease.release();
      }
    });
  }, 180_000);

  it('reports of every VG or PV take GLLK SH: they wait for a GLLK EX holder; reports of named VGs do not', async () => {
    const [, d1] = loops.devices as [string, string];
    // GLLK is in svB (moved at svA's vgremove); both hosts have svB started.
    const gllk = {
      lockspace: 'lvm_svB',
      resource: 'GLLK',
      path: d1,
      offsetBytes: PE_START + slotOffsetBytes(GL_SLOT, geometry),
    };
    // Under LOCK_RETRY_SECONDS (15 s), so the waiting reports still get the lock at its release.
    const HOLD_MS = 10_000;
    await hostB.daemon.with(async (client) => {
      const lease = await client.acquire(gllk, { mode: 'EX' });
      const startedAt = Date.now();
      const timed = (args: string[]) => lh(hostA, args).then((r) => ({ ...r, doneAt: Date.now() }));
      // A report of one named VG takes only its VGLK SH: done while the GL is still held EX. Run
      // alone first: on a loaded machine four commands starting at once can take seconds each.
      const named = await timed(['lvs', '--noheadings', '-o', 'lv_name', 'svB']);
      expect(named.status, named.stderr).toBe(0);
      expect(named.doneAt - startedAt).toBeLessThan(HOLD_MS);
      const all = [timed(['pvs', '--noheadings', '-o', 'pv_name']), timed(['vgs']), timed(['lvs'])];
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, HOLD_MS - (Date.now() - startedAt))));
      const releasedAt = Date.now();
      await lease.release();
      for (const result of await Promise.all(all)) {
        expect(result.status, result.stderr).toBe(0);
        expect(result.stderr).toBe('');
        expect(result.doneAt).toBeGreaterThanOrEqual(releasedAt);
      }
    });
    // GLLK held SH elsewhere (another report) holds no report up.
    await hostB.daemon.with(async (client) => {
      const lease = await client.acquire(gllk, { mode: 'SH' });
      try {
        const result = await lh(hostA, ['pvs']);
        expect(result.status).toBe(0);
        expect(result.stderr).toBe('');
        expect(result.stdout).toContain(d1);
      } finally {
        await lease.release();
      }
    });
  }, 180_000);

  it('bad input: names too long, damaged or foreign lvmlock, unknown lock_args major: clear errors, nothing written', async () => {
    const [d0, d1] = loops.devices as [string, string];
    const long = await lh(hostA, ['vgcreate', '--shared', 'v'.repeat(45), d0]);
    expect(long.status).toBe(5);
    expect(long.stderr).toMatch(/too long for a lockspace/);
    expect(await vgOf('v'.repeat(45))).toBeUndefined();
    // svB: stop it on both hosts, then damage its lockspace leader in three ways.
    await ok(hostA, ['lockstop', '--wait', 'svB']);
    await ok(hostB, ['vgchange', '--lock-stop', 'svB']);
    const original = await readAt(d1, PE_START, 512);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['not sanlock', new Uint8Array(512).fill(0x5a), /bad leader magic/],
      [
        'foreign lockspace',
        buildLockspaceArea({ spaceName: 'lvm_other', geometry, ioTimeoutSeconds: 1 }).subarray(0, 512),
        /wrong lockspace name/,
      ],
      [
        '4K sectors',
        buildLockspaceArea({ spaceName: 'lvm_svB', geometry: lvmlockGeometry(4096), ioTimeoutSeconds: 1 }).subarray(
          0,
          512,
        ),
        /sector_size/,
      ],
    ];
    for (const [what, bytes, message] of cases) {
      await writeAt(d1, PE_START, bytes);
      const result = await lh(hostA, ['lockstart', '--wait', 'svB']);
      expect(result.status, what).toBe(5);
      expect(result.stderr, what).toMatch(message);
      expect(sha(await readAt(d1, PE_START, 512)), what).toBe(sha(bytes));
    }
    await writeAt(d1, PE_START, original);
    await ok(hostA, ['lockstart', '--wait', 'svB']);
    // VGLK's value block names a newer seqno than the metadata this host reads: refused, nothing written.
    const lvbAt = PE_START + lvbSectorOffset(slotOffsetBytes(VG_SLOT, geometry), geometry);
    const seqnoBefore = (await vgOf('svB'))?.seqno ?? 0;
    const savedLvb = await readAt(d1, lvbAt, 512);
    const ahead = new Uint8Array(512);
    ahead.set(encodeLvmValueBlock({ version: LVM_VALUE_BLOCK_VERSION, flags: 0, rVersion: seqnoBefore + 5 }));
    await writeAt(d1, lvbAt, ahead);
    const stale = await lh(hostA, ['lvcreate', '-an', '-n', 'x', '-L', '4m', 'svB']);
    expect(stale.status).toBe(5);
    expect(stale.stderr).toContain(
      `VG svB metadata seqno ${seqnoBefore} is older than seqno ${seqnoBefore + 5} in its VGLK value block`,
    );
    expect((await vgOf('svB'))?.seqno).toBe(seqnoBefore);
    await writeAt(d1, lvbAt, savedLvb);
    // A lock_args major this leasehold does not know: refused before any lock or write.
    const backup = dir.file('svB.vg');
    await ok(hostA, ['vgcfgbackup', '-f', backup, 'svB']);
    writeFileSync(
      backup,
      readFileSync(backup, 'utf8').replace('lock_args = "1.0.0:lvmlock"', 'lock_args = "2.0.0:lvmlock:notimeout"'),
    );
    await ok(hostA, ['vgcfgrestore', '-f', backup, 'svB']);
    const seqno = (await vgOf('svB'))?.seqno;
    const refused = await lh(hostA, ['lvcreate', '-an', '-n', 'x', '-L', '4m', 'svB']);
    expect(refused.status).toBe(5);
    expect(refused.stderr).toMatch(/major version 2; this leasehold knows only 1\.x/);
    expect((await vgOf('svB'))?.seqno).toBe(seqno);
    // lockstop with no VG (the systemd unit's stop) leaves every shared VG's lockspace.
    expect(await ok(hostA, ['lockstop', '--wait'])).toContain('VG svB stopped sanlock lockspace');
    expect(
      (await hostA.daemon.with((client) => client.status())).lockspaces.filter((ls) => ls.lockspace.startsWith('lvm_')),
    ).toEqual([]);
  }, 180_000);
});
