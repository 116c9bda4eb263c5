/**
 * Paxos resource-lease benchmark: exclusive and shared acquire+release cycles and the handoff from
 * one host's release to another host's acquire, leasehold beside the real sanlock in the same run on
 * the same image file and resource.
 *
 * - sanlock: two daemons (host_id 1 and 2) driven by python3-sanlock through the shared anchor
 *   script ../shared/sanlock-bench/sl_bench.py (`cycles`, `pingpong --mode notify`); bytes per
 *   operation from the daemon's /proc/PID/io.
 * - leasehold: two hosts (host_id 3 and 4) in this process, each with its own O_DIRECT disk and
 *   delta lease renewing on the real clock; bytes per operation counted at the Disk.
 * Last line: RESULT ex_cycle_ratio=<x> sh_cycle_ratio=<x> handoff_ratio=<x> (leasehold / sanlock).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { CountingDisk, type Disk } from '@leasehold/disk';
import { openDirectDisk } from '@leasehold/disk/direct';
import {
  acquireDeltaLease,
  acquireLease,
  releaseLease,
  runRenewalLoop,
  type Clock,
  type DeltaLease,
  type PaxosContext,
  type ResourceLocation,
} from '@leasehold/lease';
import { SANLOCK_WATCHDOG_FIRE_TIMEOUT_SECONDS, SanlockDaemon, sanlockDirect } from '@leasehold/testkit';
import { diffIo, median, procIo, ratio, nowSeconds } from './lib/measure.js';

const CYCLES = Number(process.env.CYCLES ?? 1000);
const HANDOFFS = Number(process.env.HANDOFFS ?? 100);
const IO_TIMEOUT_SECONDS = 1;
const RESOURCE_OFFSET_BYTES = 1024 * 1024;
const SL_BENCH =
  process.env.SL_BENCH ?? fileURLToPath(new URL('../../../shared/sanlock-bench/sl_bench.py', import.meta.url));

const clock: Clock = {
  nowSeconds,
  sleep: (seconds) => delay(Math.max(0, seconds * 1000)),
};
const random = { next: () => Math.random() };

function out(line: string): void {
  process.stdout.write(line + '\n');
}

interface Summary {
  p50_ms: number;
}

/** Runs the sanlock driver without blocking our event loop: our own hosts must keep renewing meanwhile. */
function slBench(runDir: string, args: string[]): Promise<Record<string, Summary>> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [SL_BENCH, ...args], {
      env: { ...process.env, SANLOCK_PRIVILEGED: '0', SANLOCK_RUN_DIR: runDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new Error(`sl_bench ${args.join(' ')} failed: ${stdout}${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, Summary>);
    });
  });
}

/** Whole-area membership reads the ballots made (ballot-range.ts), over all hosts. */
let membershipReads = 0;

/** The delta lease as the ballots see it, counting their membership reads. */
function countingMembershipReads(delta: DeltaLease): DeltaLease {
  return new Proxy(delta, {
    get(target, property) {
      if (property === 'readMembership') {
        return () => {
          membershipReads++;
          return target.readMembership();
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

interface LeaseholdHost {
  disk: CountingDisk;
  delta: DeltaLease;
  context: PaxosContext;
  stop: AbortController;
  loop: Promise<unknown>;
}

async function joinHost(image: string, hostId: number): Promise<LeaseholdHost> {
  const raw: Disk = await openDirectDisk(image);
  const disk = new CountingDisk(raw);
  const delta = await acquireDeltaLease(disk, clock, {
    spaceName: 'LS',
    hostId,
    areaOffsetBytes: 0,
    hostName: `bench-leasehold-${hostId}`,
    ioTimeoutSeconds: IO_TIMEOUT_SECONDS,
    watchdogFireTimeoutSeconds: SANLOCK_WATCHDOG_FIRE_TIMEOUT_SECONDS,
  });
  const stop = new AbortController();
  const loop = runRenewalLoop(delta, clock, {}, stop.signal);
  return { disk, delta, context: { disk, clock, random, delta: countingMembershipReads(delta) }, stop, loop };
}

const location: ResourceLocation = { spaceName: 'LS', resourceName: 'R1', offsetBytes: RESOURCE_OFFSET_BYTES };

async function leaseholdCycles(
  host: LeaseholdHost,
  shared: boolean,
): Promise<{
  cycleMs: number[];
  readPerCycle: number;
  writePerCycle: number;
  readOpsPerCycle: number;
  writeOpsPerCycle: number;
  membershipReads: number;
  seconds: number;
}> {
  const cycleMs: number[] = [];
  const mode = shared ? 'shared' : 'exclusive';
  for (let i = 0; i < 10; i++) {
    await releaseLease(host.context, await acquireLease(host.context, location, { mode }));
  }
  const before = { ...host.disk.stats() };
  const membershipBefore = membershipReads;
  const startSeconds = nowSeconds();
  for (let i = 0; i < CYCLES; i++) {
    const t0 = nowSeconds();
    const held = await acquireLease(host.context, location, { mode });
    await releaseLease(host.context, held);
    cycleMs.push((nowSeconds() - t0) * 1000);
  }
  const after = host.disk.stats();
  // Renewals run meanwhile (one 1 MiB read + one sector write every 2 s); take them out.
  return {
    cycleMs,
    readPerCycle: (after.bytesRead - before.bytesRead) / CYCLES,
    writePerCycle: (after.bytesWritten - before.bytesWritten) / CYCLES,
    readOpsPerCycle: (after.readOps - before.readOps) / CYCLES,
    writeOpsPerCycle: (after.writeOps - before.writeOps) / CYCLES,
    membershipReads: membershipReads - membershipBefore,
    seconds: nowSeconds() - startSeconds,
  };
}

async function leaseholdHandoffs(a: LeaseholdHost, b: LeaseholdHost): Promise<number[]> {
  const handoffMs: number[] = [];
  for (let i = 0; i < HANDOFFS; i++) {
    await releaseLease(a.context, await acquireLease(a.context, location, { mode: 'exclusive' }));
    const released = nowSeconds();
    const held = await acquireLease(b.context, location, { mode: 'exclusive' });
    handoffMs.push((nowSeconds() - released) * 1000);
    await releaseLease(b.context, held);
  }
  return handoffMs;
}

async function main(): Promise<void> {
  if (!existsSync(SL_BENCH)) throw new Error(`sanlock anchor script not found at ${SL_BENCH} (set SL_BENCH)`);
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-bench-paxos-'));
  const image = join(dir, 'lun.img');
  execFileSync('dd', ['if=/dev/zero', `of=${image}`, 'bs=1M', 'count=8', 'status=none']);
  sanlockDirect(['init', '-s', `LS:0:${image}:0`, '-o', String(IO_TIMEOUT_SECONDS)]);
  sanlockDirect(['init', '-r', `LS:R1:${image}:${RESOURCE_OFFSET_BYTES}`]);
  const a = await SanlockDaemon.start({ hostName: 'bench-sanlock-a' });
  const b = await SanlockDaemon.start({ hostName: 'bench-sanlock-b' });
  const hosts: LeaseholdHost[] = [];
  try {
    const joins = await Promise.all([
      a.clientAsync(['add_lockspace', '-o', String(IO_TIMEOUT_SECONDS), '-s', `LS:1:${image}:0`]),
      b.clientAsync(['add_lockspace', '-o', String(IO_TIMEOUT_SECONDS), '-s', `LS:2:${image}:0`]),
    ]);
    for (const j of joins) if (j.status !== 0) throw new Error(`add_lockspace failed: ${j.stdout}${j.stderr}`);
    hosts.push(...(await Promise.all([joinHost(image, 3), joinHost(image, 4)])));
    out(
      `# image ${image} (512/1M), io_timeout ${IO_TIMEOUT_SECONDS}; 4 live hosts (sanlock 1,2; leasehold 3,4); ${CYCLES} cycles, ${HANDOFFS} handoffs`,
    );

    const common = ['--ls', 'LS', '--res', 'R1', '--path', image, '--offset', String(RESOURCE_OFFSET_BYTES)];
    const ioBefore = procIo(a.pid!);
    const slEx = await slBench(a.runDir, ['cycles', ...common, '-n', String(CYCLES)]);
    const ioEx = diffIo(procIo(a.pid!), ioBefore);
    const ioBeforeSh = procIo(a.pid!);
    const slSh = await slBench(a.runDir, ['cycles', ...common, '-n', String(CYCLES), '--shared']);
    const ioSh = diffIo(procIo(a.pid!), ioBeforeSh);
    const slHandoff = await slBench(a.runDir, [
      'pingpong',
      ...common,
      '--run-a',
      a.runDir,
      '--run-b',
      b.runDir,
      '-n',
      String(HANDOFFS),
      '--mode',
      'notify',
    ]);

    const lhEx = await leaseholdCycles(hosts[0]!, false);
    const lhSh = await leaseholdCycles(hosts[0]!, true);
    const lhHandoff = await leaseholdHandoffs(hosts[0]!, hosts[1]!);

    const slExMs = slEx.cycle!.p50_ms;
    const slShMs = slSh.cycle!.p50_ms;
    const slHandoffMs = slHandoff.handoff_A_release_to_B_acquired!.p50_ms;
    const n = CYCLES + 10; // sl_bench's warm-up cycles are counted in the daemon's I/O
    out(`exclusive cycle p50   sanlock ${slExMs.toFixed(3)} ms   leasehold ${median(lhEx.cycleMs).toFixed(3)} ms`);
    out(`shared cycle p50      sanlock ${slShMs.toFixed(3)} ms   leasehold ${median(lhSh.cycleMs).toFixed(3)} ms`);
    out(`handoff p50           sanlock ${slHandoffMs.toFixed(3)} ms   leasehold ${median(lhHandoff).toFixed(3)} ms`);
    out(
      `bytes per ex cycle    sanlock read ${(ioEx.readBytes / n).toFixed(0)} write ${(ioEx.writeBytes / n).toFixed(0)}   leasehold read ${lhEx.readPerCycle.toFixed(0)} write ${lhEx.writePerCycle.toFixed(0)} (${lhEx.readOpsPerCycle.toFixed(1)} reads, ${lhEx.writeOpsPerCycle.toFixed(1)} writes)`,
    );
    out(
      `bytes per sh cycle    sanlock read ${(ioSh.readBytes / n).toFixed(0)} write ${(ioSh.writeBytes / n).toFixed(0)}   leasehold read ${lhSh.readPerCycle.toFixed(0)} write ${lhSh.writePerCycle.toFixed(0)} (${lhSh.readOpsPerCycle.toFixed(1)} reads, ${lhSh.writeOpsPerCycle.toFixed(1)} writes)`,
    );
    out('(both sides include their background renewals: 1 MiB read + 1 sector write per 2 s per host)');
    const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
    out(
      `leasehold membership  ${lhEx.membershipReads} + ${lhSh.membershipReads} whole-lockspace reads in ${lhEx.seconds.toFixed(2)} + ${lhSh.seconds.toFixed(2)} s of cycles ` +
        `(ballots read host_ids 1..4 only; mean ex cycle ${mean(lhEx.cycleMs).toFixed(3)} ms, sh ${mean(lhSh.cycleMs).toFixed(3)} ms, those reads included)`,
    );
    out(
      `RESULT ex_cycle_ratio=${ratio(median(lhEx.cycleMs), slExMs)} sh_cycle_ratio=${ratio(median(lhSh.cycleMs), slShMs)} handoff_ratio=${ratio(median(lhHandoff), slHandoffMs)}`,
    );
  } finally {
    for (const host of hosts) {
      host.stop.abort();
      await host.loop.catch(() => undefined);
      await host.delta.release().catch(() => undefined);
      await host.disk.close();
    }
    await a.stop();
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench paxos failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
