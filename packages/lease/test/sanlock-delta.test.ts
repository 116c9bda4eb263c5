/**
 * Interop with the real sanlock 3.8 daemon (sanlock-ondisk §8 check 2 and §8 check 5 for events):
 * a sanlock host and a leasehold host share one lockspace. Never skipped: without sanlock the
 * testkit throws and the tests fail.
 *
 * Every host uses io_timeout 1, so FAIL comes 8 s and DEAD 8 + W = 68 s after the last renewal seen.
 * W is sanlock 3.8.5's fixed 60 s: its binary has no watchdog_fire_timeout setting (the config file
 * the testkit writes does not change it; measured: add_lockspace of a live host_id fails after 69 s),
 * and every host of a lockspace must use the same W.
 */
import { describe, expect, it } from 'vitest';
import type { Disk } from '@leasehold/disk';
import { openDirectDisk } from '@leasehold/disk/direct';
import { HOST_BITMAP_OFFSET_BYTES } from '@leasehold/ondisk';
import {
  acquireDeltaLease,
  DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
  DeltaError,
  runRenewalLoop,
  type DeltaEvent,
  type DeltaLeaseConfig,
  type HeldDeltaLease,
  type HostState,
} from '@leasehold/lease';
import {
  makeTempImage,
  parseHostStates,
  requireSanlock,
  sanlockDirect,
  SanlockDaemon,
  type TempImage,
} from '@leasehold/testkit';
import { realClock } from './support/real-clock.js';

const N = 1;
/** sanlock 3.8.5's watchdog_fire_timeout (DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS); not configurable there. */
const W = DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS;
/** The longest test: join, events, then 8N + W until DEAD, plus slack. */
const TEST_TIMEOUT_MS = 180_000;
/** The takeover test: 8N + W until DEAD, then a successor's own 8N + W + 2N, plus slack. */
const TAKEOVER_TEST_TIMEOUT_MS = 300_000;
const SPACE = 'LS';
const IMAGE_BYTES = 2 * 1024 * 1024;
const SECTOR_BYTES = 512;
const POLL_SECONDS = 0.25;
/**
 * Slack for sanlock's 1 s polling and process scheduling on a loaded 2-core machine. It only bounds
 * how LATE a verdict may come; the safety bounds (never FAIL/DEAD early) are asserted exactly.
 */
const SLACK_SECONDS = 10;

type Cleanup = () => Promise<void> | void;

/** What one test started; torn down in reverse order when the test ends (tests run concurrently). */
class Scope {
  private readonly cleanups: Cleanup[] = [];

  defer(cleanup: Cleanup): void {
    this.cleanups.push(cleanup);
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort: the next cleanup must still run
      }
    }
  }

  image(): TempImage {
    requireSanlock();
    const img = makeTempImage(IMAGE_BYTES, 'lockspace.img');
    this.defer(() => img.cleanup());
    sanlockDirect(['init', '-s', `${SPACE}:0:${img.path}:0`, '-o', String(N)]);
    return img;
  }

  async daemon(hostName: string): Promise<SanlockDaemon> {
    const d = await SanlockDaemon.start({ hostName });
    this.defer(() => d.stop());
    return d;
  }

  async openDisk(img: TempImage): Promise<Disk> {
    const disk = await openDirectDisk(img.path);
    this.defer(() => disk.close());
    return disk;
  }

  async leaseholdJoin(disk: Disk, hostId: number, hostName: string): Promise<Joined> {
    const lease = await acquireDeltaLease(disk, realClock, leaseConfig(hostId, hostName));
    const events: DeltaEvent[] = [];
    const abort = new AbortController();
    const loop = runRenewalLoop(lease, realClock, { onEvent: (event) => events.push(event) }, abort.signal);
    const stop = async (): Promise<void> => {
      abort.abort();
      await loop;
    };
    this.defer(async () => {
      await stop();
      await lease.release();
    });
    return { lease, events, stop };
  }
}

/** Runs `body` with a fresh Scope, always closed afterwards. */
function scoped(body: (scope: Scope) => Promise<void>): () => Promise<void> {
  return async () => {
    const scope = new Scope();
    try {
      await body(scope);
    } finally {
      await scope.close();
    }
  };
}

function leaseConfig(hostId: number, hostName: string): DeltaLeaseConfig {
  return { spaceName: SPACE, hostId, areaOffsetBytes: 0, hostName, ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W };
}

async function sanlockJoin(d: SanlockDaemon, img: TempImage, hostId: number): Promise<void> {
  const result = await d.clientAsync(['add_lockspace', '-o', String(N), '-s', `${SPACE}:${hostId}:${img.path}:0`]);
  expect(result.status, result.stdout + result.stderr + d.log).toBe(0);
}

interface Joined {
  lease: HeldDeltaLease;
  events: DeltaEvent[];
  /** Stops renewing without releasing (a crash, as far as the disk can tell). */
  stop(): Promise<void>;
}

function sanlockStates(d: SanlockDaemon): Map<number, string> {
  return parseHostStates(d.client(['gets', '-h', '1']).stdout);
}

/** Polls until `probe` returns a value; returns it with the time it was first seen. */
async function waitFor<T>(
  what: string,
  timeoutSeconds: number,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<{ value: T; atSeconds: number }> {
  const deadline = realClock.nowSeconds() + timeoutSeconds;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, atSeconds: realClock.nowSeconds() };
    if (realClock.nowSeconds() > deadline) throw new Error(`timed out after ${timeoutSeconds} s waiting for ${what}`);
    await realClock.sleep(POLL_SECONDS);
  }
}

function stateIs(expected: string, read: () => string | undefined): () => true | undefined {
  return () => (read() === expected ? true : undefined);
}

describe.concurrent('delta leases shared with the real sanlock daemon', () => {
  it(
    'sees and is seen LIVE, exchanges events both ways, and goes FAIL then DEAD on sanlock after it stops renewing',
    scoped(async (scope) => {
      const img = scope.image();
      const sanlock = await scope.daemon('interop-sanlock-a');
      await sanlockJoin(sanlock, img, 1);
      const disk = await scope.openDisk(img);
      const us = await scope.leaseholdJoin(disk, 2, 'interop-leasehold-a');

      // Both sides judge the other LIVE (sanlock: UNKNOWN -> LIVE after a second change).
      await waitFor(
        'sanlock to see host 2 LIVE',
        15,
        stateIs('LIVE', () => sanlockStates(sanlock).get(2)),
      );
      await waitFor(
        'leasehold to see host 1 LIVE',
        15,
        stateIs('LIVE', () => us.lease.host(1)?.state),
      );
      expect(us.lease.host(1)).toMatchObject({ generation: 1n, hostName: 'interop-sanlock-a', ioTimeoutSeconds: N });

      // sanlock -> leasehold: set_event lands in sanlock's own sector (+176..199, bit at +256).
      const sent = sanlock.client(['set_event', '-s', SPACE, '-i', '2', '-g', '0', '-e', '5', '-d', '7']);
      expect(sent.status, sent.stdout + sent.stderr).toBe(0);
      await waitFor('the event from sanlock', 15, () => (us.events.length > 0 ? true : undefined));
      expect(us.events[0]).toEqual({ fromHostId: 1, fromGeneration: 1n, targetGeneration: 0n, event: 5n, data: 7n });
      const sanlockSector = await disk.read(0, SECTOR_BYTES);
      const view = new DataView(sanlockSector.buffer, sanlockSector.byteOffset);
      expect([view.getBigUint64(176, true), view.getBigUint64(184, true), view.getBigUint64(192, true)]).toEqual([
        0n,
        5n,
        7n,
      ]);
      await realClock.sleep(4 * N); // more renewals of sanlock carry the same event: still one delivery
      expect(us.events).toHaveLength(1);

      // leasehold -> sanlock: reg_event + get_event on the sanlock host receives ours.
      const receiving = sanlock.python(
        [
          'import sanlock, select, time',
          `fd = sanlock.reg_event(b"${SPACE}")`,
          'print("ready", flush=True)',
          'deadline = time.time() + 20',
          'while time.time() < deadline:',
          '    if select.select([fd], [], [], 1)[0]:',
          '        print(repr(sanlock.get_event(fd)), flush=True)',
          '        break',
        ].join('\n'),
      );
      await realClock.sleep(1);
      us.lease.setEvent(1, 9n, 11n);
      const got = await receiving;
      expect(got.stdout).toMatch(/'from_host_id': 2/);
      expect(got.stdout).toMatch(/'event': 9/);
      expect(got.stdout).toMatch(/'data': 11/);
      const ourSector = await disk.read(SECTOR_BYTES, SECTOR_BYTES);
      expect(ourSector[HOST_BITMAP_OFFSET_BYTES]! & 0x01).toBe(0x01);

      // Stop renewing without releasing: sanlock must see FAIL after 8N and DEAD after 8N + W.
      await us.stop();
      const lastRenewal = us.lease.lastRenewalSeconds;
      const fail = await waitFor(
        'sanlock to see host 2 FAIL',
        8 * N + SLACK_SECONDS + 2,
        stateIs('FAIL', () => sanlockStates(sanlock).get(2)),
      );
      expect(fail.atSeconds - lastRenewal).toBeGreaterThanOrEqual(8 * N - 1);
      const dead = await waitFor(
        'sanlock to see host 2 DEAD',
        W + SLACK_SECONDS + 2,
        stateIs('DEAD', () => sanlockStates(sanlock).get(2)),
      );
      expect(dead.atSeconds - lastRenewal).toBeGreaterThanOrEqual(8 * N + W - 1);
      expect(dead.atSeconds - lastRenewal).toBeLessThanOrEqual(8 * N + W + SLACK_SECONDS);
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'is refused a live sanlock host_id with HOSTID_BUSY after waiting 8N + W',
    scoped(async (scope) => {
      const img = scope.image();
      const sanlock = await scope.daemon('interop-sanlock-b');
      await sanlockJoin(sanlock, img, 1);
      const disk = await scope.openDisk(img);
      const started = realClock.nowSeconds();
      const busy = await acquireDeltaLease(disk, realClock, leaseConfig(1, 'interop-intruder-b')).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(busy).toBeInstanceOf(DeltaError);
      expect((busy as DeltaError).code).toBe('HOSTID_BUSY');
      expect((busy as DeltaError).details.ownerName).toBe('interop-sanlock-b');
      expect(realClock.nowSeconds() - started).toBeGreaterThanOrEqual(8 * N + W);
      expect(sanlockStates(sanlock).get(1)).toBe('LIVE');
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'sees a SIGKILLed sanlock host go LIVE -> FAIL -> DEAD, and takes its host_id over after 8N + W + 2N',
    scoped(async (scope) => {
      const img = scope.image();
      const sanlock = await scope.daemon('interop-sanlock-d');
      await sanlockJoin(sanlock, img, 1);
      const disk = await scope.openDisk(img);
      const observer = await scope.leaseholdJoin(disk, 3, 'interop-observer-d');
      await waitFor(
        'leasehold to see host 1 LIVE',
        15,
        stateIs('LIVE', () => observer.lease.host(1)?.state),
      );

      await sanlock.stop(); // SIGKILL: no release
      const killedAt = realClock.nowSeconds();
      const seen: HostState[] = [];
      const record = (state: HostState | undefined): void => {
        if (state !== undefined && seen.at(-1) !== state) seen.push(state);
      };
      // Our last sample of a change may be up to one renewal (2N) older than the kill.
      const fail = await waitFor('leasehold to see host 1 FAIL', 8 * N + SLACK_SECONDS, () => {
        record(observer.lease.host(1)?.state);
        return seen.includes('FAIL') ? true : undefined;
      });
      expect(fail.atSeconds - killedAt).toBeGreaterThan(8 * N - 2 * N - 1);
      // W after FAIL, plus a loaded machine's delays (two test files run at once in CI).
      const dead = await waitFor('leasehold to see host 1 DEAD', W + 3 * SLACK_SECONDS, () => {
        record(observer.lease.host(1)?.state);
        return seen.includes('DEAD') ? true : undefined;
      });
      expect(dead.atSeconds - killedAt).toBeGreaterThan(8 * N + W - 2 * N - 1);
      expect(seen).toEqual(['LIVE', 'FAIL', 'DEAD']);

      // The successor starts only now: started at the kill, its write at 8N + W could land before
      // the observer's last sample of host 1 was 8N + W old, and host 1 would turn LIVE (generation
      // 2) without ever reading DEAD. Knowing nothing of the history, it must still wait 8N + W + 2N.
      const takeoverStarted = realClock.nowSeconds();
      const successor = await acquireDeltaLease(disk, realClock, leaseConfig(1, 'interop-successor-d'));
      expect(realClock.nowSeconds() - takeoverStarted).toBeGreaterThanOrEqual(8 * N + W + 2 * N);
      expect(successor.generation).toBe(2n);
      scope.defer(() => successor.release());
      const dump = sanlockDirect(['dump', `${img.path}:0`]).stdout;
      expect(dump).toMatch(/interop-successor-d\s+\d+\s+0001\s+0002/);
    }),
    TAKEOVER_TEST_TIMEOUT_MS,
  );

  it(
    'makes sanlock add_lockspace of our live host_id fail with -262, and reads back valid for sanlock',
    scoped(async (scope) => {
      const img = scope.image();
      const disk = await scope.openDisk(img);
      await scope.leaseholdJoin(disk, 2, 'interop-leasehold-c');
      const readBack = sanlockDirect(['read_leader', '-s', `${SPACE}:2:${img.path}:0`]);
      expect(readBack.stdout + readBack.stderr).toMatch(/resource_name interop-leasehold-c/);
      const sanlock = await scope.daemon('interop-sanlock-c');
      const started = realClock.nowSeconds();
      const result = await sanlock.clientAsync(['add_lockspace', '-o', String(N), '-s', `${SPACE}:2:${img.path}:0`]);
      // -262 HOSTID_BUSY after the long wait: our renewals changed the sector meanwhile ("busy1").
      expect(result.stdout).toMatch(/done -262/);
      expect(realClock.nowSeconds() - started).toBeGreaterThanOrEqual(8 * N + W);
    }),
    TEST_TIMEOUT_MS,
  );
});
