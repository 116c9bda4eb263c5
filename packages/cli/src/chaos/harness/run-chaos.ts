/**
 * `leasehold testing chaos`: an emulated cluster (3-5 hosts with test watchdog devices) sharing one
 * VG on a loop device, a writer per host activating, writing and deactivating LVs, faults at random,
 * metadata churn; then the checker over the histories and the records on the PV. See docs/timing.md
 * "The chaos run".
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { hostName, hostPaths, startCluster, stopCluster, type ClusterConfig } from '@leasehold/watchdog';
import { checkHistory, peersLine, summaryLine, type CheckResult, type PeerHost } from '../checker/check.js';
import type { Violation } from '../checker/violations.js';
import { appendEvent, monotonicNs, readHistoryDir } from '../history-file.js';
import { Random } from '../random.js';
import { ChaosHost } from './chaos-host.js';
import { injectFault, pickFault } from './faults.js';
import { readLvImages } from './images.js';
import { ChaosPeers } from './peers.js';
import { realLvmProblems } from './real-lvm.js';
import { detachStackedLoops } from './stacked-loops.js';
import {
  CHAOS_VG,
  CHURN_LV_PREFIX,
  minTakeoverDelaySeconds,
  SHARED_LV,
  workerLvs,
  type ChaosOptions,
} from './options.js';
import { hostDeadSeconds } from '@leasehold/lease';
import { CliError } from '../../cli-error.js';

const LV_SIZE = '4M';
const POLL_MS = 250;
const FINISH_WAIT_MS = 90_000;
/** A fault is injected every faultInterval x [1 - JITTER, 1 + JITTER]. */
const FAULT_JITTER = 0.5;
const SETUP_TIMEOUT_MS = 120_000;
const STORAGE_HANG_EXTRA_SECONDS = 4;

export interface RunRecord {
  pvPath: string;
  vg: string;
  lvs: string[];
  slotsPerLv: number;
  minTakeoverDelayNs: string;
  startNs: string;
  runEndNs: string;
  /** The peer hosts that took part (absent in runs without peers). */
  peers?: PeerHost[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Waits for `promise` at most timeoutMs (the timer cleared after: a pending one keeps the command alive). */
async function bounded(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((done) => (timer = setTimeout(done, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ChaosOutcome {
  result: CheckResult;
  extraViolations: Violation[];
  seconds: number;
  line: string;
  /** The peers' counts (`chaos peers: ...`), in a run with peers. */
  peersLine: string | undefined;
}

class ChaosRun {
  private readonly random: Random;
  private readonly historyDir: string;
  private readonly notes: string;
  private hosts: ChaosHost[] = [];
  private running = true;
  private churnCount = 0;

  constructor(private readonly options: ChaosOptions) {
    this.random = new Random(options.seed);
    this.historyDir = join(options.dir, 'history');
    this.notes = join(options.dir, 'harness.log');
  }

  note = (line: string): void => {
    appendFileSync(this.notes, `${new Date().toISOString()} ${line}\n`);
  };

  private harnessLog(host: string, event: Parameters<ChaosHost['log']>[0]): void {
    appendEvent(join(this.historyDir, `harness-${host}.jsonl`), event);
  }

  async run(): Promise<ChaosOutcome> {
    const { options } = this;
    mkdirSync(this.historyDir, { recursive: true });
    const image = join(options.dir, 'pv.img');
    const fd = openSync(image, 'w');
    ftruncateSync(fd, options.pvSizeBytes);
    closeSync(fd);
    const pvPath = execFileSync('losetup', ['-f', '--show', '--sector-size', '512', '--direct-io=on', image], {
      encoding: 'utf8',
    }).trim();
    this.note(`PV ${pvPath} over ${image}`);
    let cluster: ClusterConfig | undefined;
    const record: RunRecord = {
      pvPath,
      vg: CHAOS_VG,
      lvs: [...workerLvs(options), SHARED_LV],
      slotsPerLv: options.slotsPerLv,
      minTakeoverDelayNs: String(
        BigInt(minTakeoverDelaySeconds(options.ioTimeoutSeconds, options.watchdogFireTimeoutSeconds)) * 1_000_000_000n,
      ),
      startNs: '0',
      runEndNs: '0',
    };
    const extraViolations: Violation[] = [];
    let peers: ChaosPeers | undefined;
    try {
      cluster = await this.setUp(pvPath);
      if (options.peers.length > 0) {
        peers = await ChaosPeers.start(options, { pvPath, image, historyDir: this.historyDir, note: this.note });
        record.peers = peers.hosts;
      }
      // The clock of the run (and of its summary) starts when the workload does.
      const started = monotonicNs();
      const untilNs = started + BigInt(Math.round(options.durationSeconds * 1e9));
      record.startNs = String(started);
      for (const host of this.hosts) host.untilNs = untilNs;
      const peersDone = peers?.run(untilNs);
      await this.loop(untilNs, pvPath);
      this.running = false;
      // A peer's last cycle may wait long on a lease (its daemon's ballot retries): bounded as the writers.
      await Promise.all([
        ...(peersDone === undefined ? [] : [bounded(peersDone, FINISH_WAIT_MS)]),
        ...this.hosts.map((host) => host.finish(FINISH_WAIT_MS)),
      ]);
      extraViolations.push(...this.checkMetadata(pvPath));
    } catch (error) {
      // No check without a whole run: stop what runs and free the PV's loop device.
      await peers?.stop();
      await stopCluster(this.clusterDir).catch(() => undefined);
      this.detachPv(pvPath);
      throw error;
    } finally {
      this.running = false;
      await peers?.stop();
      if (cluster !== undefined)
        await stopCluster(cluster.dir).catch((error: Error) => this.note(`stop: ${error.message}`));
      record.runEndNs = String(monotonicNs());
      writeFileSync(join(options.dir, 'run.json'), JSON.stringify(record, null, 2) + '\n');
    }
    try {
      const outcome = await checkRunDir(options.dir, pvPath, extraViolations);
      const clean = outcome.result.violations.length + extraViolations.length === 0;
      if (clean && !options.keep) rmSync(image, { force: true });
      return outcome;
    } finally {
      this.detachPv(pvPath);
    }
  }

  /** Frees the PV's loop device, and first any LV mapping still stacked on it. */
  private detachPv(pvPath: string): void {
    const stacked = detachStackedLoops(pvPath);
    if (stacked.length > 0) this.note(`detached LV loop devices left on ${pvPath}: ${stacked.join(', ')}`);
    const result = spawnSync('losetup', ['-d', pvPath], { encoding: 'utf8' });
    if (result.status !== 0) this.note(`losetup -d ${pvPath}: ${result.stderr.trim()}`);
  }

  private get clusterDir(): string {
    return resolve(this.options.dir, 'cluster');
  }

  private async setUp(pvPath: string): Promise<ClusterConfig> {
    const { options } = this;
    const clusterDir = this.clusterDir;
    for (let index = 1; index <= options.hosts; index++) {
      const paths = hostPaths(clusterDir, hostName(index));
      mkdirSync(join(paths.dir, 'lock'), { recursive: true });
      writeFileSync(join(paths.dir, 'host-id.conf'), `* = ${index}\n`);
      writeFileSync(
        join(paths.dir, 'lvm.conf'),
        `io_timeout = ${options.ioTimeoutSeconds}\ndevices = ${pvPath}\nlocking_dir = ${join(paths.dir, 'lock')}\nhost_id_file = ${join(paths.dir, 'host-id.conf')}\n`,
      );
    }
    const cluster = await startCluster({
      dir: clusterDir,
      hosts: options.hosts,
      ioTimeoutSeconds: options.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: options.watchdogFireTimeoutSeconds,
      nodePath: options.nodePath,
      cliPath: options.cliPath,
      daemonSettings: { activation_backend: 'loop' },
    });
    this.hosts = Array.from(
      { length: options.hosts },
      (_, index) =>
        new ChaosHost(
          index + 1,
          hostPaths(cluster.dir, hostName(index + 1)),
          cluster,
          options,
          this.historyDir,
          this.note,
        ),
    );
    const first = this.hosts[0]!;
    const must = async (host: ChaosHost, args: string[]): Promise<void> => {
      const result = await host.leasehold(args, SETUP_TIMEOUT_MS);
      if (result.status !== 0)
        throw new CliError(
          'CLUSTER_ERROR',
          `chaos set-up: ${host.name}: leasehold ${args.join(' ')} failed (${result.status}): ${result.stderr.trim()}`,
        );
    };
    await must(first, ['pvcreate', pvPath]);
    await must(first, ['vgcreate', '--shared', CHAOS_VG, pvPath]);
    await must(first, ['lockstart', CHAOS_VG, '--wait']);
    for (const lv of [...workerLvs(options), SHARED_LV])
      await must(first, ['lvcreate', '-an', '-n', lv, '-L', LV_SIZE, CHAOS_VG]);
    const joined = await Promise.all(this.hosts.slice(1).map((host) => host.lockstart()));
    if (joined.includes(false))
      throw new CliError('CLUSTER_ERROR', 'chaos set-up: a host could not start the VG lockspace (see harness.log)');
    this.note(`set up: ${options.hosts} hosts, VG ${CHAOS_VG} with ${options.lvs} + 1 LVs`);
    return cluster;
  }

  private async loop(untilNs: bigint, pvPath: string): Promise<void> {
    const { options } = this;
    const storageHangMs =
      (hostDeadSeconds(options.ioTimeoutSeconds, options.watchdogFireTimeoutSeconds) + STORAGE_HANG_EXTRA_SECONDS) *
      1000;
    const nextGap = (seconds: number): number =>
      seconds * 1000 * (1 - FAULT_JITTER + 2 * FAULT_JITTER * this.random.next());
    let nextFault = Date.now() + nextGap(options.faultIntervalSeconds);
    let nextChurn = Date.now() + nextGap(options.churnIntervalSeconds);
    const pending = new Set<Promise<unknown>>();
    const track = (promise: Promise<unknown>): void => {
      const tracked = promise.catch((error: Error) => this.note(`error: ${error.stack ?? error.message}`));
      pending.add(tracked);
      void tracked.finally(() => pending.delete(tracked));
    };
    while (monotonicNs() < untilNs) {
      for (const host of this.hosts) {
        if (host.state === 'up') host.pollResets();
        if (host.state === 'down') track(host.recover());
        host.ensureWriters();
      }
      if (Date.now() >= nextFault) {
        nextFault = Date.now() + nextGap(options.faultIntervalSeconds);
        const candidates = this.hosts.filter((h) => h.state === 'up' && !h.faulted);
        // Keep a majority of the hosts out of faults, so that the run keeps making progress.
        const busy = this.hosts.length - candidates.length;
        if (candidates.length > 0 && busy < Math.ceil(this.hosts.length / 2)) {
          const host = this.random.pick(candidates);
          const kind = pickFault(this.random);
          host.faulted = true;
          track(
            injectFault(host, kind, { random: this.random, pvPath, storageHangMs, note: this.note })
              .then((done) => this.note(`${host.name}: ${kind}${done ? '' : ' (not applicable)'}`))
              .finally(() => {
                if (host.state === 'up') host.faulted = false;
              }),
          );
        }
      }
      if (Date.now() >= nextChurn) {
        nextChurn = Date.now() + nextGap(options.churnIntervalSeconds);
        const candidates = this.hosts.filter((h) => h.state === 'up' && !h.faulted);
        if (candidates.length > 0) track(this.churn(this.random.pick(candidates)));
      }
      await sleep(POLL_MS);
    }
    await Promise.all([...pending]);
  }

  /** lvcreate, lvextend, lvremove of a scratch LV from one host. */
  private async churn(host: ChaosHost): Promise<void> {
    this.churnCount++;
    const lv = `${CHURN_LV_PREFIX}${this.churnCount}`;
    const steps: Array<[string, string[]]> = [
      ['lvcreate', ['lvcreate', '-an', '-n', lv, '-L', LV_SIZE, CHAOS_VG]],
      ['lvextend', ['lvextend', '-L', '+4M', `${CHAOS_VG}/${lv}`]],
      ['lvremove', ['lvremove', '-f', `${CHAOS_VG}/${lv}`]],
    ];
    for (const [op, args] of steps) {
      if (!this.running) return;
      const result = await host.leasehold(args);
      const ok = result.status === 0;
      this.harnessLog(host.name, { kind: 'metadata', tNs: monotonicNs(), host: host.name, op, lv, ok });
      if (!ok) {
        this.note(`${host.name}: ${op} ${lv} failed: ${result.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
        if (op === 'lvcreate') return;
      }
    }
  }

  /** The VG metadata passes leasehold's vgck and, where lvm2 is installed, the real lvm's pvck and reports. */
  private checkMetadata(pvPath: string): Violation[] {
    const found: Violation[] = [];
    const ours = spawnSync(this.options.nodePath, [this.options.cliPath, 'vgck', '--devices', pvPath, CHAOS_VG], {
      encoding: 'utf8',
      env: { ...process.env, LEASEHOLD_CONFIG: join(this.hosts[0]?.paths.dir ?? this.options.dir, 'lvm.conf') },
    });
    if (ours.status !== 0)
      found.push({ kind: 'vg-check', lv: '-', message: `leasehold vgck ${CHAOS_VG}: ${ours.stderr.trim()}` });
    const real = realLvmProblems(pvPath, CHAOS_VG, [...workerLvs(this.options), SHARED_LV]);
    if (real === undefined) this.note('lvm2 is not installed: the real lvm did not check the VG');
    for (const problem of real ?? []) found.push({ kind: 'vg-check', lv: '-', message: problem });
    return found;
  }
}

/** Attaches a PV image to a loop device as the run does (512-byte sectors, direct I/O). */
export function attachPvImage(image: string): string {
  return execFileSync('losetup', ['-f', '--show', '--sector-size', '512', '--direct-io=on', image], {
    encoding: 'utf8',
  }).trim();
}

/** Runs the checker over a run's directory (its histories and run.json) and its PV (attached at pvPath). */
export async function checkRunDir(dir: string, pvPath: string, extra: Violation[] = []): Promise<ChaosOutcome> {
  const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;
  const images = await readLvImages(pvPath, record.vg, record.lvs, record.slotsPerLv);
  const result = checkHistory({
    events: readHistoryDir(join(dir, 'history')),
    images,
    minTakeoverDelayNs: BigInt(record.minTakeoverDelayNs),
    runEndNs: BigInt(record.runEndNs),
    peers: record.peers ?? [],
  });
  const seconds = Number(BigInt(record.runEndNs) - BigInt(record.startNs)) / 1e9;
  const all: CheckResult = { ...result, violations: [...result.violations, ...extra] };
  writeFileSync(join(dir, 'violations.json'), JSON.stringify(all.violations, null, 2) + '\n');
  const line = summaryLine(all, seconds);
  const peers = peersLine(all);
  writeFileSync(join(dir, 'summary.txt'), [line, ...(peers === undefined ? [] : [peers])].join('\n') + '\n');
  return { result: all, extraViolations: extra, seconds, line, peersLine: peers };
}

export function runChaos(options: ChaosOptions): Promise<ChaosOutcome> {
  return new ChaosRun(options).run();
}
