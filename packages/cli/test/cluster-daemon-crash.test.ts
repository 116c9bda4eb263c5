/**
 * The lock daemon crashes (SIGKILL) while its lockspace is registered with the companion and a
 * client holds a lease. The registration outlives the daemon (as wdmd keeps a dead sanlock's), so
 * the host is reset on the same schedule as a frozen daemon, unless a restarted daemon resumes the
 * delta lease in time: it then registers the lockspace again and nothing is reset.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  clusterSupported,
  COMPANION_INTERVAL_SECONDS,
  FIRE_TIMEOUT_SECONDS,
  LOAD_SLACK_SECONDS,
  monotonicSeconds,
  printTimeline,
  RENEWAL_FAIL_SECONDS,
  sleep,
  TestCluster,
  waitFor,
} from './support/cluster.js';

const supported = clusterSupported();
let cluster: TestCluster | undefined;

async function startHolding(): Promise<{ c: TestCluster; holder: ReturnType<TestCluster['holdR1']> }> {
  const c = new TestCluster();
  cluster = c;
  c.start(1);
  c.lockstart('host1');
  const holder = c.holdR1('host1', 'echo held; exec sleep 1000');
  await holder.next('text', 30_000);
  return { c, holder };
}

afterEach(() => {
  cluster?.stop();
  cluster = undefined;
});

describe('a crashed lock daemon', () => {
  it('runs where emulated hosts can (root, unshare, nsenter): never skipped', () => {
    expect(supported, 'these tests need root with unshare --pid --mount and nsenter').toBe(true);
  });
  it('gets its host reset 8N - interval + W after its last renewal when it does not come back', async () => {
    const { c } = await startHolding();
    const crashedAt = monotonicSeconds();
    c.cluster(['crash', 'host1', '--process', 'daemon']);
    const fire = await waitFor('the device to fire', () => c.fires('host1')[0], 30_000);
    const lastRenewal = c.lastRenewal('host1');
    printTimeline(
      `daemon of host1 SIGKILLed, not restarted (io_timeout 1, W ${FIRE_TIMEOUT_SECONDS}); from its last renewal L`,
      lastRenewal,
      [
        ['L: last renewal', lastRenewal],
        ['daemon SIGKILLed', crashedAt],
        ['watchdog fires', fire.atSeconds],
        ['deadline L + 8N + W', lastRenewal + RENEWAL_FAIL_SECONDS + FIRE_TIMEOUT_SECONDS],
      ],
    );
    expect(fire.atSeconds).toBeGreaterThanOrEqual(
      lastRenewal + RENEWAL_FAIL_SECONDS - COMPANION_INTERVAL_SECONDS + FIRE_TIMEOUT_SECONDS,
    );
    expect(fire.atSeconds).toBeLessThan(lastRenewal + RENEWAL_FAIL_SECONDS + FIRE_TIMEOUT_SECONDS);
    await waitFor('the reset', () => (c.hostUp('host1') ? undefined : true), 10_000);
  }, 90_000);

  it('is not reset when the daemon restarts in time: it resumes the lease, adopts the holder and registers again', async () => {
    const { c, holder } = await startHolding();
    const crashedAt = monotonicSeconds();
    c.cluster(['crash', 'host1', '--process', 'daemon']);
    c.cluster(['restart', 'host1', '--process', 'daemon']);
    const restartedAt = monotonicSeconds();
    const lastBeforeCrash =
      Math.max(...c.companionExpiries('host1', 'LS').filter((expiry) => expiry - RENEWAL_FAIL_SECONDS <= crashedAt)) -
      RENEWAL_FAIL_SECONDS;
    // Past the moment the old registration would have made the device fire.
    await sleep(
      Math.max(
        0,
        (lastBeforeCrash +
          RENEWAL_FAIL_SECONDS -
          COMPANION_INTERVAL_SECONDS +
          FIRE_TIMEOUT_SECONDS +
          LOAD_SLACK_SECONDS -
          monotonicSeconds()) *
          1000,
      ),
    );
    printTimeline(
      `daemon of host1 SIGKILLed and restarted (io_timeout 1, W ${FIRE_TIMEOUT_SECONDS}); from its last renewal L`,
      lastBeforeCrash,
      [
        ['L: last renewal before the crash', lastBeforeCrash],
        ['daemon SIGKILLed', crashedAt],
        ['daemon restarted', restartedAt],
        [
          'first renewal registered by the new daemon',
          c.companionExpiries('host1', 'LS').find((expiry) => expiry - RENEWAL_FAIL_SECONDS > crashedAt)! -
            RENEWAL_FAIL_SECONDS,
        ],
        [
          'the old registration would have fired',
          lastBeforeCrash + RENEWAL_FAIL_SECONDS - COMPANION_INTERVAL_SECONDS + FIRE_TIMEOUT_SECONDS,
        ],
      ],
    );
    expect(c.fires('host1')).toEqual([]);
    expect(c.hostUp('host1')).toBe(true);
    expect(c.lastRenewal('host1')).toBeGreaterThan(restartedAt);
    const status = JSON.parse(c.exec('host1', ['leasehold', 'status', '--json']).stdout) as {
      leases: Array<{ resource: string }>;
    };
    expect(status.leases).toEqual([expect.objectContaining({ resource: 'R1' })]);
    expect(holder.child.exitCode).toBeNull();
  }, 90_000);
});
