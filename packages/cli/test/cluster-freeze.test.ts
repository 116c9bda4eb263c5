/**
 * Host A holds an exclusive lease and its daemon freezes (SIGSTOP): nobody renews A's delta lease or
 * its registration with the companion. The companion stops petting one interval before the expiry
 * (8N after the last renewal), A's test watchdog device resets A W seconds later, and only then,
 * at 8N + W after A's last renewal, may host B take the lease.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterSupported,
  COMPANION_INTERVAL_SECONDS,
  FIRE_TIMEOUT_SECONDS,
  HOST_DEAD_SECONDS,
  LOAD_SLACK_SECONDS,
  monotonicSeconds,
  printTimeline,
  RENEWAL_FAIL_SECONDS,
  RENEWAL_INTERVAL_SECONDS,
  TestCluster,
  waitFor,
} from './support/cluster.js';

const supported = clusterSupported();
let cluster: TestCluster;

beforeAll(() => {
  if (!supported) return;
  cluster = new TestCluster();
  cluster.start(2);
  cluster.lockstart('host1');
  cluster.lockstart('host2');
}, 90_000);

afterAll(() => cluster?.stop());

describe('a host whose daemon freezes', () => {
  it('runs where emulated hosts can (root, unshare, nsenter): never skipped', () => {
    expect(supported, 'these tests need root with unshare --pid --mount and nsenter').toBe(true);
  });
  it('is reset by its watchdog before the other host may take its lease, which it does on time', async () => {
    const holder = cluster.holdR1('host1', 'echo held; exec sleep 1000');
    await holder.next('text', 30_000);

    cluster.cluster(['freeze', 'host1', '--process', 'daemon']);
    const frozenAt = monotonicSeconds();
    const taker = cluster.acquireLoop('host2');
    const granted = await taker.next('granted', 60_000);
    const grantedAt = granted['grantedSeconds'] as number;

    const lastRenewal = cluster.lastRenewal('host1');
    const deadline = lastRenewal + HOST_DEAD_SECONDS;
    const fire = await waitFor('the device of host1 to fire', () => cluster.fires('host1')[0], 1000);
    const reset = await waitFor(
      'the reset to finish',
      () => cluster.deviceEvents('host1').find((event) => event.type === 'reset'),
      10_000,
    );
    const uncleanClose = cluster.deviceEvents('host1').find((event) => event.type === 'unclean-close');
    printTimeline(
      `host1 daemon frozen (io_timeout 1, W ${FIRE_TIMEOUT_SECONDS}); times from host1's last renewal L`,
      lastRenewal,
      [
        ['L: host1 last renewal', lastRenewal],
        ['host1 daemon frozen (SIGSTOP)', frozenAt],
        ['host1 companion closes the device unclean (last keepalive)', uncleanClose?.atSeconds],
        ['host1 watchdog fires', fire.atSeconds],
        ['host1 reset done (every process killed)', reset.atSeconds],
        ['deadline L + 8N + W', deadline],
        ['host2 attempt that succeeded started', granted['attemptStartSeconds'] as number],
        ['host2 granted R1', grantedAt],
      ],
    );

    // Order: last renewal, freeze, reset, deadline, grant.
    expect(lastRenewal).toBeLessThanOrEqual(frozenAt);
    // The companion let go one interval before the expiry, so the device fired W after that...
    expect(uncleanClose).toBeDefined();
    expect(uncleanClose!.atSeconds).toBeLessThan(lastRenewal + RENEWAL_FAIL_SECONDS);
    expect(uncleanClose!.atSeconds).toBeGreaterThanOrEqual(
      lastRenewal + RENEWAL_FAIL_SECONDS - COMPANION_INTERVAL_SECONDS - 0.05,
    );
    // ...which is before the deadline (safety: never after it).
    expect(fire.atSeconds).toBeLessThan(deadline);
    expect(reset.atSeconds).toBeLessThan(deadline);
    expect(reset['leftAlive']).toEqual([]);
    // Safety: B got the lease no earlier than A's deadline.
    expect(grantedAt).toBeGreaterThanOrEqual(deadline);
    expect(grantedAt).toBeGreaterThan(reset.atSeconds);
    // Liveness: B sees A's last renewal within one renewal interval, then acquires at its next try.
    expect(grantedAt).toBeLessThanOrEqual(deadline + RENEWAL_INTERVAL_SECONDS + LOAD_SLACK_SECONDS);

    // The reset killed every process of host1, the lease holder too.
    const { code } = await holder.exited;
    expect(code).toBe(128 + 9); // `cluster exec` reports the SIGKILL of its command
    expect(holder.stderr).toContain('killed by SIGKILL');
    expect(cluster.hostUp('host1')).toBe(false);
  }, 120_000);

  it('a whole host that freezes (every process stopped) is reset W after its last keepalive; the other host takes over at the deadline', async () => {
    // After the first test host2 holds R1 (its acquire loop holds it); host1 comes back.
    cluster.cluster(['restart', 'host1']);
    cluster.lockstart('host1');
    cluster.cluster(['freeze', 'host2']);
    const frozenAt = monotonicSeconds();
    const taker = cluster.acquireLoop('host1');
    const granted = await taker.next('granted', 60_000);
    const grantedAt = granted['grantedSeconds'] as number;
    const lastRenewal = cluster.lastRenewal('host2');
    const deadline = lastRenewal + HOST_DEAD_SECONDS;
    const fire = await waitFor('the device of host2 to fire', () => cluster.fires('host2')[0], 1000);
    const lastKeepalive = fire['lastKeepaliveSeconds'] as number;
    printTimeline(
      `host2 frozen entirely (io_timeout 1, W ${FIRE_TIMEOUT_SECONDS}); from host2's last renewal L`,
      lastRenewal,
      [
        ['L: host2 last renewal', lastRenewal],
        ['host2 last keepalive', lastKeepalive],
        ['host2 frozen (every process SIGSTOPped)', frozenAt],
        ['host2 watchdog fires', fire.atSeconds],
        ['deadline L + 8N + W', deadline],
        ['host1 granted R1', grantedAt],
      ],
    );
    expect(lastKeepalive).toBeLessThanOrEqual(frozenAt);
    expect(fire.atSeconds - lastKeepalive).toBeGreaterThanOrEqual(FIRE_TIMEOUT_SECONDS);
    expect(fire.atSeconds - lastKeepalive).toBeLessThan(FIRE_TIMEOUT_SECONDS + 0.5);
    expect(fire.atSeconds).toBeLessThan(deadline);
    expect(grantedAt).toBeGreaterThanOrEqual(deadline);
    expect(grantedAt).toBeLessThanOrEqual(deadline + RENEWAL_INTERVAL_SECONDS + LOAD_SLACK_SECONDS);
    await waitFor('host2 to be down', () => (cluster.hostUp('host2') ? undefined : true), 10_000);
  }, 120_000);
});
