/**
 * Activation: leasehold against lvmlockd + sanlock on one machine, in one run, both at io_timeout 1.
 * One VG made by the real `vgcreate --shared` on an lvmlockd host (host_id 1, its own mount
 * namespace, testkit, lvm's activation disabled); a leasehold daemon (activation_backend = none) joins
 * it as host_id 2 through the PV. Each side activates and deactivates its own LV (created -an), the
 * tools alternating; wall clock of the command, medians:
 *   activate:   `leasehold lvchange -aey VG/LV` against lvm's `lvchange -aey VG/LV` (LV lease EX, persistent)
 *   deactivate: `leasehold lvchange -an VG/LV`  against lvm's `lvchange -an VG/LV`  (lease released)
 * leasehold's commands run as installed: `leasehold` is the leasehold-fast front end, which hands each
 * command to a warm worker of `leasehold command-server` (leasehold-commands.service). The same
 * commands started as a Node process of their own (node bin/leasehold.js, what a checkout's
 * `npx leasehold` runs) are timed too, beside a bare `node -e 0`: no Node process can take less.
 * NODE_EXTRA_CA_CERTS is removed for leasehold's commands unless BENCH_KEEP_NODE_ENV=1 (see volume.ts).
 * Last line: RESULT activate_ratio=<x> deactivate_ratio=<x> activate_node_ratio=<x> deactivate_node_ratio=<x>
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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

const REPS = Number(process.env.REPS ?? 7);
const VG = 'benchact';
const MIB = 1024 * 1024;
const SOCKET_WAIT_TRIES = 100;
const SOCKET_WAIT_MS = 100;

const work = mkdtempSync(join(tmpdir(), 'leasehold-bench-activate-'));
const cluster = LvmlockdCluster.create({ ioTimeoutSeconds: 1 });
let daemon: ReturnType<typeof spawn> | undefined;
let commandServer: ReturnType<typeof spawn> | undefined;
let env: NodeJS.ProcessEnv = {};
function childEnv(): NodeJS.ProcessEnv {
  return benchEnv(env);
}

/** `leasehold ARGS` as installed (the front end, through the command server); seconds. */
function leasehold(args: string[]): number {
  return timedRun(FAST_PATH, args, childEnv());
}

/** The same command in a Node process of its own. */
function leaseholdNode(args: string[]): number {
  return timedRun(process.execPath, [CLI_PATH, ...args], childEnv());
}

async function cleanup(): Promise<void> {
  if (daemon !== undefined) {
    spawnSync(process.execPath, [CLI_PATH, 'lvchange', '-an', `${VG}/lh`], { env: { ...process.env, ...env } });
    spawnSync(process.execPath, [CLI_PATH, 'lockstop', '--wait'], { env: { ...process.env, ...env } });
    daemon.kill('SIGTERM');
  }
  commandServer?.kill('SIGTERM');
  await cluster.destroy().catch((error: unknown) => console.error(String(error)));
  rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const disk = cluster.addDisk('pv', 1024 * MIB);
  const host = await cluster.startHost(1);
  await cluster.vgcreateShared(host, VG, disk);
  await host.lvmOk(['lvcreate', '-an', '-n', 'lvm', '-L', '4m', VG]);
  await host.lvmOk(['lvcreate', '-an', '-n', 'lh', '-L', '4m', VG]);
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
  // The daemon's own settings: the lease only, as lvm with activation disabled.
  writeFileSync(join(work, 'daemon.conf'), 'activation_backend = none\n');
  const socket = join(work, 'lh.sock');
  env = {
    LEASEHOLD_SOCKET: socket,
    LEASEHOLD_CONFIG: join(work, 'leasehold.conf'),
    LEASEHOLD_COMMAND_SOCKET: join(work, 'commands.sock'),
  };
  commandServer = await startCommandServer(join(work, 'commands.sock'), childEnv());
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
      join(work, 'daemon.conf'),
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
  for (let i = 0; i < SOCKET_WAIT_TRIES && spawnSync('test', ['-S', socket]).status !== 0; i++)
    await new Promise((r) => setTimeout(r, SOCKET_WAIT_MS));
  leasehold(['lockstart', '--wait', VG]);
  // One untimed round each: caches warm, both sides known to work.
  leasehold(['lvchange', '-aey', `${VG}/lh`]);
  leasehold(['lvchange', '-an', `${VG}/lh`]);
  await host.lvmOk(['lvchange', '-aey', `${VG}/lvm`]);
  await host.lvmOk(['lvchange', '-an', `${VG}/lvm`]);

  const nodeFloor: number[] = [];
  const activates = { leasehold: [] as number[], lvm: [] as number[], node: [] as number[] };
  const deactivates = { leasehold: [] as number[], lvm: [] as number[], node: [] as number[] };
  for (let i = 0; i < REPS; i++) {
    activates.leasehold.push(leasehold(['lvchange', '-aey', `${VG}/lh`]));
    activates.lvm.push(await lvm(['lvchange', '-aey', `${VG}/lvm`]));
    deactivates.leasehold.push(leasehold(['lvchange', '-an', `${VG}/lh`]));
    deactivates.lvm.push(await lvm(['lvchange', '-an', `${VG}/lvm`]));
    activates.node.push(leaseholdNode(['lvchange', '-aey', `${VG}/lh`]));
    deactivates.node.push(leaseholdNode(['lvchange', '-an', `${VG}/lh`]));
    const started = nowSeconds();
    spawnSync(process.execPath, ['-e', '0'], { env: childEnv() });
    nodeFloor.push(nowSeconds() - started);
  }
  const row = (what: string, m: { leasehold: number[]; lvm: number[]; node: number[] }): void => {
    console.log(
      `${what.padEnd(14)} leasehold ${median(m.leasehold).toFixed(3)} s (a Node process of its own: ${median(m.node).toFixed(3)} s)  lvm+lvmlockd ${median(m.lvm).toFixed(3)} s  (medians of ${m.lvm.length})`,
    );
  };
  row('lvchange -aey', activates);
  row('lvchange -an', deactivates);
  const floor = median(nodeFloor);
  console.log(
    `${'node -e 0'.padEnd(14)} ${floor.toFixed(3)} s: as a ratio to lvm's, activate ${ratio(floor, median(activates.lvm))}, deactivate ${ratio(floor, median(deactivates.lvm))} (no Node process can do better); load average ${loadavg()[0]?.toFixed(1)}; NODE_EXTRA_CA_CERTS ${CA_CERTS_STATE}`,
  );
  console.log(
    `RESULT activate_ratio=${ratio(median(activates.leasehold), median(activates.lvm))} deactivate_ratio=${ratio(median(deactivates.leasehold), median(deactivates.lvm))} activate_node_ratio=${ratio(median(activates.node), median(activates.lvm))} deactivate_node_ratio=${ratio(median(deactivates.node), median(deactivates.lvm))}`,
  );
}

main()
  .then(cleanup)
  .catch(async (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    await cleanup();
    process.exitCode = 1;
  });
