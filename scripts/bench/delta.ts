/**
 * Delta-lease benchmark: lockspace join time and renewal I/O, leasehold beside the real sanlock,
 * measured in the same run on the same image file.
 *
 * - join: wall time of `sanlock client add_lockspace` versus `leasehold direct join` until it
 *   prints that it joined (Node start-up included), both re-joining a free host_id whose on-disk
 *   io_timeout is IO_TIMEOUT (the 2 x io_timeout delay dominates both).
 * - renewal I/O: /proc/PID/io read_bytes/write_bytes of the sanlock daemon and of the leasehold
 *   process over the same window, divided by the renewals each made (counted by watching their
 *   delta-lease timestamps change on disk).
 * Last line: RESULT join_time_ratio=<x> renewal_read_bytes_ratio=<x> (leasehold / sanlock).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openDirectDisk } from '@leasehold/disk/direct';
import { decodeLeader } from '@leasehold/ondisk';
import { SANLOCK_WATCHDOG_FIRE_TIMEOUT_SECONDS as W, SanlockDaemon, sanlockDirect } from '@leasehold/testkit';
import { diffIo, median, procIo, ratio, spawnCliUntil, waitExit, nowSeconds } from './lib/measure.js';

const IO_TIMEOUT_SECONDS = Number(process.env.IO_TIMEOUT ?? 1);
const REPS = Number(process.env.REPS ?? 3);
const WINDOW_SECONDS = Number(process.env.WINDOW ?? 21);
const SANLOCK_HOST_ID = 1;
const LEASEHOLD_HOST_ID = 2;
const SECTOR_SIZE = 512;

function out(line: string): void {
  process.stdout.write(line + '\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-bench-delta-'));
  const image = join(dir, 'lun.img');
  execFileSync('dd', ['if=/dev/zero', `of=${image}`, 'bs=1M', 'count=4', 'status=none']);
  sanlockDirect(['init', '-s', `LS:0:${image}:0`, '-o', String(IO_TIMEOUT_SECONDS)]);
  const sanlock = await SanlockDaemon.start({ hostName: 'bench-sanlock' });
  const lockspace = (hostId: number): string => `LS:${hostId}:${image}:0`;
  const joinArgs = [
    'direct',
    'join',
    '-s',
    lockspace(LEASEHOLD_HOST_ID),
    '-o',
    String(IO_TIMEOUT_SECONDS),
    '--watchdog-fire-timeout',
    String(W),
    '--name',
    'bench-leasehold',
  ];
  try {
    out(`# image ${image} (512/1M), io_timeout ${IO_TIMEOUT_SECONDS}, ${REPS} joins each`);
    const sanlockJoins: number[] = [];
    const leaseholdJoins: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const t0 = nowSeconds();
      const added = await sanlock.clientAsync([
        'add_lockspace',
        '-o',
        String(IO_TIMEOUT_SECONDS),
        '-s',
        lockspace(SANLOCK_HOST_ID),
      ]);
      if (added.status !== 0) throw new Error(`sanlock add_lockspace failed: ${added.stdout}${added.stderr}`);
      sanlockJoins.push(nowSeconds() - t0);
      const { child, seconds } = await spawnCliUntil(joinArgs, /joined lockspace/);
      leaseholdJoins.push(seconds);
      if (rep < REPS - 1) {
        child.kill('SIGINT');
        await waitExit(child);
        const removed = await sanlock.clientAsync(['rem_lockspace', '-s', lockspace(SANLOCK_HOST_ID)]);
        if (removed.status !== 0) throw new Error(`sanlock rem_lockspace failed: ${removed.stdout}`);
        continue;
      }
      // Both joined: measure renewals over the same window.
      const disk = await openDirectDisk(image, { readOnly: true });
      const lastTimestamp = new Map<number, bigint>();
      const renewals = new Map<number, number>([
        [SANLOCK_HOST_ID, 0],
        [LEASEHOLD_HOST_ID, 0],
      ]);
      const sanlockPid = sanlock.pid!;
      const leaseholdPid = child.pid!;
      const before = { sanlock: procIo(sanlockPid), leasehold: procIo(leaseholdPid) };
      const end = nowSeconds() + WINDOW_SECONDS;
      while (nowSeconds() < end) {
        const sectors = await disk.read(0, 2 * SECTOR_SIZE);
        for (const hostId of [SANLOCK_HOST_ID, LEASEHOLD_HOST_ID]) {
          const ts = decodeLeader(sectors, (hostId - 1) * SECTOR_SIZE).timestamp;
          const prev = lastTimestamp.get(hostId);
          if (prev !== undefined && prev !== ts) renewals.set(hostId, renewals.get(hostId)! + 1);
          lastTimestamp.set(hostId, ts);
        }
        await delay(100);
      }
      const io = {
        sanlock: diffIo(procIo(sanlockPid), before.sanlock),
        leasehold: diffIo(procIo(leaseholdPid), before.leasehold),
      };
      await disk.close();
      child.kill('SIGINT');
      await waitExit(child);
      const perRenewal = (bytes: number, hostId: number): number => bytes / Math.max(1, renewals.get(hostId)!);
      const sl = {
        read: perRenewal(io.sanlock.readBytes, SANLOCK_HOST_ID),
        write: perRenewal(io.sanlock.writeBytes, SANLOCK_HOST_ID),
      };
      const lh = {
        read: perRenewal(io.leasehold.readBytes, LEASEHOLD_HOST_ID),
        write: perRenewal(io.leasehold.writeBytes, LEASEHOLD_HOST_ID),
      };
      out(
        `join seconds      sanlock ${sanlockJoins.map((s) => s.toFixed(3)).join(' ')} (median ${median(sanlockJoins).toFixed(3)})`,
      );
      out(
        `join seconds      leasehold ${leaseholdJoins.map((s) => s.toFixed(3)).join(' ')} (median ${median(leaseholdJoins).toFixed(3)})`,
      );
      out(
        `renewals in ${WINDOW_SECONDS}s   sanlock ${renewals.get(SANLOCK_HOST_ID)}  leasehold ${renewals.get(LEASEHOLD_HOST_ID)}`,
      );
      out(`per renewal       sanlock read ${sl.read.toFixed(0)} B write ${sl.write.toFixed(0)} B`);
      out(
        `per renewal       leasehold read ${lh.read.toFixed(0)} B write ${lh.write.toFixed(0)} B (read syscalls ${(io.leasehold.syscr / Math.max(1, renewals.get(LEASEHOLD_HOST_ID)!)).toFixed(1)}, write syscalls ${(io.leasehold.syscw / Math.max(1, renewals.get(LEASEHOLD_HOST_ID)!)).toFixed(1)})`,
      );
      out(
        `RESULT join_time_ratio=${ratio(median(leaseholdJoins), median(sanlockJoins))} renewal_read_bytes_ratio=${ratio(lh.read, sl.read)}`,
      );
    }
  } finally {
    await sanlock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench delta failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
