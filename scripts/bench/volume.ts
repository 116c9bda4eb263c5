/**
 * Volume commands: leasehold against the real lvm on the same loop device, in one run.
 *   lvs of a VG with 1, 100 and 1000 LVs; vgs; lvcreate and lvremove on a local VG.
 * Wall-clock medians of REPS runs each, the two tools alternating. lvm runs with a private
 * LVM_SYSTEM_DIR, `--devices` and `--driverloaded n` (leasehold has no activation, so neither asks
 * device-mapper). The VGs of 100 and 1000 LVs are written with vgcfgrestore from a generated backup
 * (1000 lvcreates would take minutes).
 * A bare `node -e 0` is timed in the same run: no Node program can take less, so its ratio to each
 * lvm command (the floor_* figures) bounds what leasehold's ratio can reach on this machine, and
 * (leasehold - node -e 0) / lvm (the over_floor_* figures) is what leasehold's own work costs.
 * NODE_EXTRA_CA_CERTS makes every Node process load that certificate file at start (50-70 ms of CPU
 * on the test machines, where it is set for a proxy); leasehold never uses TLS and a host normally
 * has no such setting, so the runs go without it unless BENCH_KEEP_NODE_ENV=1 (reported either way,
 * with the floor measured both ways).
 * lvs of 1000 LVs is also timed with the metadata cache off (metadata_cache_dir = none): the first
 * lvs after a change parses the text (lvs_1000_nocache_ms).
 * Last line: RESULT lvs_1_ratio=<x> lvs_1000_ratio=<x> lvcreate_ratio=<x> lvremove_ratio=<x>
 *   lvs_1000_ms=<leasehold wall> node_floor_ms=<node -e 0 wall> node_floor_cpu_ms=<its CPU>
 *   floor_lvs_1_ratio=<x> floor_lvs_1000_ratio=<x> floor_lvcreate_ratio=<x> floor_lvremove_ratio=<x>
 *   over_floor_lvs_1_ratio=<x> ... over_floor_lvremove_ratio=<x> lvs_1000_nocache_ms=<x>
 *   node_floor_with_ca_certs_ms=<x> node_extra_ca_certs=<unset|removed|kept>
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateUuid, parseUuid, printVgBackup, type LogicalVolume, type VgMetadata } from '@leasehold/lvm-format';
import { benchEnv, CA_CERTS_STATE, CLI_PATH, KEEP_NODE_ENV, median, nowSeconds, ratio } from './lib/measure.js';

const REPS = Number(process.env.REPS ?? 11);
const LV_COUNTS = [1, 100, 1000] as const;
const VG = 'benchvg';
const DEVICE_BYTES = 8 * 1024 ** 3;

const work = mkdtempSync(join(tmpdir(), 'leasehold-bench-volume-'));
const etc = join(work, 'etc');
execFileSync('mkdir', ['-p', etc]);
writeFileSync(
  join(etc, 'lvm.conf'),
  'devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 }\nbackup { backup = 0 archive = 0 }\nactivation { udev_sync = 0 udev_rules = 0 monitoring = 0 }\nglobal { use_lvmlockd = 0 }\n',
);
writeFileSync(join(work, 'none.conf'), '# devices come from --devices\n');
writeFileSync(join(work, 'nocache.conf'), 'metadata_cache_dir = none\n');
const caCerts = process.env.NODE_EXTRA_CA_CERTS;
const env: NodeJS.ProcessEnv = benchEnv({
  LVM_SYSTEM_DIR: etc,
  LVM_SUPPRESS_FD_WARNINGS: '1',
  LEASEHOLD_CONFIG: join(work, 'none.conf'),
});
const image = join(work, 'pv.img');
execFileSync('truncate', ['-s', String(DEVICE_BYTES), image]);
const loop = execFileSync('losetup', ['-f', '--show', '--direct-io=on', image], { encoding: 'utf8' }).trim();

function cleanup(): void {
  try {
    execFileSync('losetup', ['-d', loop]);
  } catch {
    // already detached
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);

/** CPU seconds (user + system) of the last timed command, from /usr/bin/time. */
const TIME_FILE = join(work, 'time.txt');
let timing = false;

/** Runs argv, through /usr/bin/time while measuring (the machine may be busy: CPU time tells more than wall time). */
function exec(argv: string[], what: string, extraEnv: NodeJS.ProcessEnv = {}): string {
  const full = timing ? ['/usr/bin/time', '-f', '%U %S', '-o', TIME_FILE, ...argv] : argv;
  const result = spawnSync(full[0] as string, full.slice(1), { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${what} failed: ${result.stderr}`);
  return result.stdout;
}

function lvm(command: string, args: string[]): string {
  const extra = command.startsWith('lv') || command === 'vgcfgrestore' ? ['--driverloaded', 'n'] : [];
  return exec(['lvm', command, '--devices', loop, ...extra, ...args], `lvm ${command} ${args.join(' ')}`);
}

function leasehold(command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): string {
  return exec(
    [process.execPath, CLI_PATH, command, '--devices', loop, ...args],
    `leasehold ${command} ${args.join(' ')}`,
    extraEnv,
  );
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** Wall and CPU milliseconds of one run. */
function time(run: () => unknown): Sample {
  timing = true;
  const t0 = nowSeconds();
  try {
    run();
  } finally {
    timing = false;
  }
  const wallMs = (nowSeconds() - t0) * 1000;
  const [user, system] = readFileSync(TIME_FILE, 'utf8').trim().split('\n').pop()?.split(' ').map(Number) ?? [0, 0];
  return { wallMs, cpuMs: ((user ?? 0) + (system ?? 0)) * 1000 };
}

interface Pair {
  lvmMs: number;
  leaseholdMs: number;
  lvmCpuMs: number;
  leaseholdCpuMs: number;
}

/** REPS alternating runs of each; medians. `prepare` runs untimed before each run (per tool). */
function measure(
  lvmRun: () => unknown,
  leaseholdRun: () => unknown,
  prepare?: (tool: 'lvm' | 'leasehold') => void,
): Pair {
  const a: Sample[] = [];
  const b: Sample[] = [];
  // one untimed run of each first (page cache, lvm's first scan)
  prepare?.('lvm');
  lvmRun();
  prepare?.('leasehold');
  leaseholdRun();
  for (let i = 0; i < REPS; i++) {
    prepare?.('lvm');
    a.push(time(lvmRun));
    prepare?.('leasehold');
    b.push(time(leaseholdRun));
  }
  return {
    lvmMs: median(a.map((x) => x.wallMs)),
    leaseholdMs: median(b.map((x) => x.wallMs)),
    lvmCpuMs: median(a.map((x) => x.cpuMs)),
    leaseholdCpuMs: median(b.map((x) => x.cpuMs)),
  };
}

/** REPS runs of a bare `node -e 0` (Node's own start-up and exit), interleaved with lvm's `lvs`. */
function measureNodeFloor(extraEnv: NodeJS.ProcessEnv = {}): Sample {
  const samples: Sample[] = [];
  exec([process.execPath, '-e', '0'], 'node -e 0', extraEnv);
  for (let i = 0; i < REPS; i++) {
    lvm('lvs', [VG]);
    samples.push(time(() => exec([process.execPath, '-e', '0'], 'node -e 0', extraEnv)));
  }
  return { wallMs: median(samples.map((x) => x.wallMs)), cpuMs: median(samples.map((x) => x.cpuMs)) };
}

/** A VG with `count` one-extent LVs, written by lvm's own vgcfgrestore from a generated backup. */
function restoreVg(pvUuid: string, vgUuid: string, count: number, seqno: number): void {
  const random = (n: number): Uint8Array => new Uint8Array(execFileSync('head', ['-c', String(n), '/dev/urandom']));
  const now = Math.floor(Date.now() / 1000);
  const lvs: LogicalVolume[] = [];
  for (let i = 0; i < count; i++) {
    lvs.push({
      name: `lv${i}`,
      id: generateUuid(random),
      status: ['READ', 'WRITE', 'VISIBLE'],
      flags: [],
      tags: [],
      creationTime: now,
      creationHost: hostname(),
      segments: [
        { startExtent: 0, extentCount: 1, type: 'striped', tags: [], stripes: [{ pvKey: 'pv0', startPe: i }] },
      ],
    });
  }
  const meta: VgMetadata = {
    vg: {
      name: VG,
      id: vgUuid,
      seqno,
      format: 'lvm2',
      status: ['RESIZEABLE', 'READ', 'WRITE'],
      flags: [],
      tags: [],
      extentSizeSectors: 8192,
      maxLv: 0,
      maxPv: 0,
      metadataCopies: 0,
      pvs: [
        {
          key: 'pv0',
          id: pvUuid,
          deviceHint: loop,
          status: ['ALLOCATABLE'],
          flags: [],
          tags: [],
          devSizeSectors: DEVICE_BYTES / 512,
          peStartSectors: 2048,
          peCount: Math.floor((DEVICE_BYTES - 1024 * 1024) / (4 * 1024 * 1024)),
        },
      ],
      lvs,
    },
    footer: { description: `bench volume ${count} LVs`, creationHost: hostname(), creationTime: now },
  };
  const file = join(work, `vg-${count}.backup`);
  writeFileSync(file, printVgBackup(meta));
  lvm('vgcfgrestore', ['-f', file, VG]);
}

lvm('pvcreate', [loop]);
lvm('vgcreate', [VG, loop]);
const pvUuid = parseUuid(lvm('pvs', ['--noheadings', '-o', 'pv_uuid']).trim());
const vgUuid = parseUuid(lvm('vgs', ['--noheadings', '-o', 'vg_uuid', VG]).trim());

const results = new Map<string, Pair>();
let nodeFloor: Sample = { wallMs: Number.NaN, cpuMs: Number.NaN };
let nodeFloorWithCaCerts: Sample = { wallMs: Number.NaN, cpuMs: Number.NaN };
let seqno = Number(lvm('vgs', ['--noheadings', '-o', 'vg_seqno', VG]).trim());
for (const count of LV_COUNTS) {
  restoreVg(pvUuid, vgUuid, count, seqno + 10);
  seqno = Number(lvm('vgs', ['--noheadings', '-o', 'vg_seqno', VG]).trim());
  const ours = leasehold('lvs', ['--noheadings', '-o', 'lv_name', VG]).trim().split('\n').length;
  if (ours !== count) throw new Error(`leasehold lvs shows ${ours} LVs, expected ${count}`);
  results.set(
    `lvs_${count}`,
    measure(
      () => lvm('lvs', [VG]),
      () => leasehold('lvs', [VG]),
    ),
  );
  if (count === 1000) {
    // the first lvs after a change parses the text: no metadata cache
    const nocache = { LEASEHOLD_CONFIG: join(work, 'nocache.conf') };
    results.set(
      'lvs_1000_nocache',
      measure(
        () => lvm('lvs', [VG]),
        () => leasehold('lvs', [VG], nocache),
      ),
    );
  }
  if (count === 1) {
    nodeFloor = measureNodeFloor();
    if (caCerts !== undefined)
      nodeFloorWithCaCerts = KEEP_NODE_ENV ? nodeFloor : measureNodeFloor({ NODE_EXTRA_CA_CERTS: caCerts });
    results.set(
      'vgs',
      measure(
        () => lvm('vgs', []),
        () => leasehold('vgs', []),
      ),
    );
    // lvcreate and lvremove on the local VG: each run creates (or removes) one LV
    results.set(
      'lvcreate',
      measure(
        () => lvm('lvcreate', ['-an', '-Zn', '-n', 'bench', '-l', '1', VG]),
        () => leasehold('lvcreate', ['-an', '-Zn', '-n', 'bench', '-l', '1', VG]),
        () => {
          if (leasehold('lvs', ['--noheadings', '-o', 'lv_name', VG]).includes('bench'))
            lvm('lvremove', ['-y', `${VG}/bench`]);
        },
      ),
    );
    results.set(
      'lvremove',
      measure(
        () => lvm('lvremove', ['-y', `${VG}/bench`]),
        () => leasehold('lvremove', ['-y', `${VG}/bench`]),
        () => {
          if (!leasehold('lvs', ['--noheadings', '-o', 'lv_name', VG]).includes('bench'))
            lvm('lvcreate', ['-an', '-Zn', '-n', 'bench', '-l', '1', VG]);
        },
      ),
    );
  }
  seqno = Number(lvm('vgs', ['--noheadings', '-o', 'vg_seqno', VG]).trim());
}

console.log(
  `volume commands, medians of ${REPS} runs (ms), same loop device ${loop}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
);
console.log(
  CA_CERTS_STATE === 'removed'
    ? `NODE_EXTRA_CA_CERTS (${caCerts}) removed for every run (node -e 0 with it: ${nodeFloorWithCaCerts.wallMs.toFixed(1)} ms wall, ${nodeFloorWithCaCerts.cpuMs.toFixed(0)} ms CPU); BENCH_KEEP_NODE_ENV=1 keeps it`
    : `NODE_EXTRA_CA_CERTS ${CA_CERTS_STATE}`,
);
console.log('command       wall: lvm  leasehold  ratio    cpu: lvm  leasehold  ratio');
for (const [name, pair] of results) {
  const wall = `${pair.lvmMs.toFixed(1).padStart(9)} ${pair.leaseholdMs.toFixed(1).padStart(10)} ${ratio(pair.leaseholdMs, pair.lvmMs).padStart(6)}`;
  const cpu = `${pair.lvmCpuMs.toFixed(0).padStart(9)} ${pair.leaseholdCpuMs.toFixed(0).padStart(10)} ${ratio(pair.leaseholdCpuMs, Math.max(pair.lvmCpuMs, 10)).padStart(6)}`;
  console.log(`${name.padEnd(12)} ${wall}    ${cpu}`);
}
console.log(
  `${'node -e 0'.padEnd(12)} ${''.padStart(9)} ${nodeFloor.wallMs.toFixed(1).padStart(10)} ${''.padStart(6)}    ${''.padStart(9)} ${nodeFloor.cpuMs.toFixed(0).padStart(10)}`,
);
console.log('(/usr/bin/time counts CPU in 10 ms steps; cpu ratios use at least 10 ms for lvm)');
const r = (name: string): string => {
  const pair = results.get(name);
  return pair === undefined ? 'nan' : ratio(pair.leaseholdMs, pair.lvmMs);
};
console.log(`lvs of 1000 LVs: leasehold ${results.get('lvs_1000')?.leaseholdMs.toFixed(1)} ms (target < 300 ms)`);
/** What the ratio would be if leasehold took no longer than a bare `node -e 0`. */
const floor = (name: string): string => {
  const pair = results.get(name);
  return pair === undefined ? 'nan' : ratio(nodeFloor.wallMs, pair.lvmMs);
};
console.log(
  `node -e 0 alone: ${nodeFloor.wallMs.toFixed(1)} ms wall, ${nodeFloor.cpuMs.toFixed(0)} ms CPU; as a ratio to lvm: lvs_1 ${floor('lvs_1')}, lvs_1000 ${floor('lvs_1000')}, lvcreate ${floor('lvcreate')}, lvremove ${floor('lvremove')}`,
);
/** (leasehold - node -e 0) / lvm: what leasehold's own work costs beside lvm's whole command. */
const overFloor = (name: string): string => {
  const pair = results.get(name);
  return pair === undefined ? 'nan' : ratio(Math.max(0, pair.leaseholdMs - nodeFloor.wallMs), pair.lvmMs);
};
console.log(
  `leasehold minus node -e 0, as a ratio to lvm: lvs_1 ${overFloor('lvs_1')}, lvs_1000 ${overFloor('lvs_1000')}, lvcreate ${overFloor('lvcreate')}, lvremove ${overFloor('lvremove')}`,
);
const commands = ['lvs_1', 'lvs_1000', 'lvcreate', 'lvremove'];
console.log(
  `RESULT lvs_1_ratio=${r('lvs_1')} lvs_1000_ratio=${r('lvs_1000')} lvcreate_ratio=${r('lvcreate')} lvremove_ratio=${r('lvremove')}` +
    ` lvs_1000_ms=${results.get('lvs_1000')?.leaseholdMs.toFixed(1) ?? 'nan'} node_floor_ms=${nodeFloor.wallMs.toFixed(1)} node_floor_cpu_ms=${nodeFloor.cpuMs.toFixed(0)}` +
    ` ${commands.map((c) => `floor_${c}_ratio=${floor(c)}`).join(' ')}` +
    ` ${commands.map((c) => `over_floor_${c}_ratio=${overFloor(c)}`).join(' ')}` +
    ` lvs_1000_nocache_ms=${results.get('lvs_1000_nocache')?.leaseholdMs.toFixed(1) ?? 'nan'}` +
    ` node_floor_with_ca_certs_ms=${nodeFloorWithCaCerts.wallMs.toFixed(1)} node_extra_ca_certs=${CA_CERTS_STATE}`,
);
