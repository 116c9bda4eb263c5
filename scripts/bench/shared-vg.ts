/**
 * Shared VGs: leasehold against lvmlockd + sanlock on one machine, in one run, both at io_timeout 1.
 * One VG made by the real `vgcreate --shared` on an lvmlockd host (host_id 1, its own mount
 * namespace, testkit); a leasehold daemon joins it as host_id 2 through the PV. Measured, wall clock
 * of the command, the tools alternating, medians:
 *   lockstart: `leasehold lockstart --wait VG` against `vgchange --lock-start VG` (each after a clean stop)
 *   lvcreate -an -L 4m / lvremove -f on the shared VG: leasehold's against lvm's through lvmlockd
 *   lvs of the shared VG: leasehold's (under VGLK SH through the daemon) against lvm's (VGLK SH through
 *   lvmlockd), and leasehold's lvs of it with the lock skipped (no daemon) to show what the lock costs
 * leasehold's commands run as installed: `leasehold` is the leasehold-fast front end, which hands each
 * command to a warm worker of `leasehold command-server` (leasehold-commands.service). lvcreate and
 * lvremove are also timed as a Node process of their own (node bin/leasehold.js): the *_node_ratio keys.
 * NODE_EXTRA_CA_CERTS is removed for leasehold's commands unless BENCH_KEEP_NODE_ENV=1 (see volume.ts).
 * Last line: RESULT lockstart_ratio=<x> shared_lvcreate_ratio=<x> shared_lvremove_ratio=<x>
 *   shared_lvs_ratio=<x> shared_lvs_ms=<x> shared_lvs_unlocked_ms=<x> shared_lvcreate_node_ratio=<x>
 *   shared_lvremove_node_ratio=<x> node_extra_ca_certs=<unset|removed|kept>
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LvmlockdCluster } from '@leasehold/testkit';
import {
  benchEnv,
  CA_CERTS_STATE,
  CLI_PATH,
  FAST_PATH,
  median,
  nowSeconds,
  ratio,
  startCommandServer,
  timedRun,
} from './lib/measure.js';

const REPS = Number(process.env.REPS ?? 5);
const LOCKSTART_REPS = Math.min(REPS, 3);
const VG = 'benchsv';
const MIB = 1024 * 1024;

const work = mkdtempSync(join(tmpdir(), 'leasehold-bench-shared-'));
const cluster = LvmlockdCluster.create({ ioTimeoutSeconds: 1 });
let daemon: ReturnType<typeof spawn> | undefined;
let commandServer: ReturnType<typeof spawn> | undefined;

async function cleanup(): Promise<void> {
  if (daemon !== undefined) {
    spawnSync(process.execPath, [CLI_PATH, 'lockstop', '--wait'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    daemon.kill('SIGTERM');
  }
  commandServer?.kill('SIGTERM');
  await cluster.destroy().catch((error: unknown) => console.error(String(error)));
  rmSync(work, { recursive: true, force: true });
}

let env: NodeJS.ProcessEnv = {};
/** `leasehold ARGS` as installed (the front end, through the command server); seconds. */
function leasehold(args: string[], extraEnv: NodeJS.ProcessEnv = {}): number {
  return timedRun(FAST_PATH, args, benchEnv({ ...env, ...extraEnv }));
}

/** The same command in a Node process of its own. */
function leaseholdNode(args: string[]): number {
  return timedRun(process.execPath, [CLI_PATH, ...args], benchEnv(env));
}

async function main(): Promise<void> {
  const disk = cluster.addDisk('pv', 2048 * MIB);
  const host = await cluster.startHost(1);
  await cluster.vgcreateShared(host, VG, disk);
  const lvm = async (args: string[]): Promise<number> => {
    const started = nowSeconds();
    await host.lvmOk(args);
    return nowSeconds() - started;
  };
  mkdirSync(join(work, 'lock'));
  writeFileSync(join(work, 'host-id.conf'), '* = 2\n');
  writeFileSync(
    join(work, 'leasehold.conf'),
    `io_timeout = 1\ndevices = ${disk.device}\nlocking_dir = ${join(work, 'lock')}\nhost_id_file = ${join(work, 'host-id.conf')}\n`,
  );
  const socket = join(work, 'lh.sock');
  env = {
    LEASEHOLD_SOCKET: socket,
    LEASEHOLD_CONFIG: join(work, 'leasehold.conf'),
    LEASEHOLD_COMMAND_SOCKET: join(work, 'commands.sock'),
  };
  commandServer = await startCommandServer(join(work, 'commands.sock'), benchEnv(env));
  daemon = spawn(
    process.execPath,
    [
      CLI_PATH,
      'daemon',
      '--socket',
      socket,
      '--state-dir',
      join(work, 'state'),
      '--config',
      '/dev/null',
      '--host-id-file',
      join(work, 'host-id.conf'),
      '--io-timeout',
      '1',
      '--watchdog-fire-timeout',
      '10',
      '--watchdog',
      'none',
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && spawnSync('test', ['-S', socket]).status !== 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  leasehold(['lockstart', '--wait', VG]);

  const starts = { leasehold: [] as number[], lvm: [] as number[] };
  for (let i = 0; i < LOCKSTART_REPS; i++) {
    leasehold(['lockstop', '--wait', VG]);
    starts.leasehold.push(leasehold(['lockstart', '--wait', VG]));
    await host.lvmOk(['vgchange', '--lock-stop', VG]);
    starts.lvm.push(await lvm(['vgchange', '--lock-start', VG]));
  }
  const creates = { leasehold: [] as number[], lvm: [] as number[], node: [] as number[] };
  const removes = { leasehold: [] as number[], lvm: [] as number[], node: [] as number[] };
  for (let i = 0; i < REPS; i++) {
    creates.leasehold.push(leasehold(['lvcreate', '-an', '-n', `lh${i}`, '-L', '4m', VG]));
    creates.lvm.push(await lvm(['lvcreate', '-an', '-n', `lvm${i}`, '-L', '4m', VG]));
    creates.node.push(leaseholdNode(['lvcreate', '-an', '-n', `node${i}`, '-L', '4m', VG]));
  }
  for (let i = 0; i < REPS; i++) {
    removes.leasehold.push(leasehold(['lvremove', '-f', `${VG}/lh${i}`]));
    removes.lvm.push(await lvm(['lvremove', '-f', `${VG}/lvm${i}`]));
    removes.node.push(leaseholdNode(['lvremove', '-f', `${VG}/node${i}`]));
  }
  // Reports: VGLK SH around the read (leasehold: through its daemon; lvm: through lvmlockd).
  const reports = { leasehold: [] as number[], lvm: [] as number[] };
  const unlocked: number[] = [];
  const noDaemon = { LEASEHOLD_SOCKET: join(work, 'no-daemon.sock') };
  leasehold(['lvs', VG]);
  await lvm(['lvs', VG]);
  for (let i = 0; i < REPS; i++) {
    reports.leasehold.push(leasehold(['lvs', VG]));
    reports.lvm.push(await lvm(['lvs', VG]));
    unlocked.push(leasehold(['lvs', VG], noDaemon));
  }
  const row = (what: string, m: { leasehold: number[]; lvm: number[]; node?: number[] }): void => {
    const node = m.node === undefined ? '' : ` (a Node process of its own: ${median(m.node).toFixed(3)} s)`;
    console.log(
      `${what.padEnd(10)} leasehold ${median(m.leasehold).toFixed(3)} s${node}  lvm+lvmlockd ${median(m.lvm).toFixed(3)} s  (medians of ${m.lvm.length})`,
    );
  };
  row('lockstart', starts);
  row('lvcreate', creates);
  row('lvremove', removes);
  row('lvs', reports);
  console.log(
    `lvs without the lock (no daemon: "Reading VG ${VG} without a lock."): leasehold ${median(unlocked).toFixed(3)} s; NODE_EXTRA_CA_CERTS ${CA_CERTS_STATE}`,
  );
  console.log(
    `RESULT lockstart_ratio=${ratio(median(starts.leasehold), median(starts.lvm))} shared_lvcreate_ratio=${ratio(median(creates.leasehold), median(creates.lvm))} shared_lvremove_ratio=${ratio(median(removes.leasehold), median(removes.lvm))}` +
      ` shared_lvs_ratio=${ratio(median(reports.leasehold), median(reports.lvm))} shared_lvs_ms=${(median(reports.leasehold) * 1000).toFixed(1)} shared_lvs_unlocked_ms=${(median(unlocked) * 1000).toFixed(1)}` +
      ` shared_lvcreate_node_ratio=${ratio(median(creates.node), median(creates.lvm))} shared_lvremove_node_ratio=${ratio(median(removes.node), median(removes.lvm))} node_extra_ca_certs=${CA_CERTS_STATE}`,
  );
}

main()
  .then(cleanup)
  .catch(async (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    await cleanup();
    process.exitCode = 1;
  });
