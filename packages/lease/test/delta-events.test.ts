import { describe, expect, it } from 'vitest';
import { hostBitmapList } from '@leasehold/ondisk';
import { acquireDeltaLease, DeltaError, type HeldDeltaLease } from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import { config, makeLockspace, type TestLockspace } from './support/lockspace.js';

const N = 1;
const SET_BITMAP_SECONDS = 6 * N;

async function twoHosts(): Promise<{
  ls: TestLockspace;
  clock: FakeClock;
  sender: HeldDeltaLease;
  receiver: HeldDeltaLease;
}> {
  const ls = makeLockspace({ ioTimeoutSeconds: N });
  const clock = new FakeClock(1000);
  const settings = { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: 10 };
  const [sender, receiver] = await clock.run(
    Promise.all([
      acquireDeltaLease(ls.disk, clock.view(0), config(1, 'sender', settings)),
      acquireDeltaLease(ls.disk, clock.view(500), config(2, 'receiver', settings)),
    ]),
  );
  return { ls, clock, sender, receiver };
}

/** One round: the sender renews, then the receiver samples (renews). */
async function round(clock: FakeClock, sender: HeldDeltaLease, receiver: HeldDeltaLease): Promise<void> {
  await sender.renew();
  await receiver.renew();
  await clock.advance(2 * N);
}

describe('events (§6)', () => {
  it("writes the event into the sender's own sector and sets the target bit for 6N; the fields stay after", async () => {
    const { ls, clock, sender } = await twoHosts();
    const t0 = clock.nowSeconds();
    sender.setEvent(2, 5n, 7n);
    const bitAt: Record<number, number[]> = {};
    for (let elapsed = 0; elapsed <= 8; elapsed += 2) {
      await clock.advanceTo(t0 + elapsed);
      await sender.renew();
      const { leader, bitmap } = ls.sector(1);
      bitAt[elapsed] = hostBitmapList(bitmap);
      expect(leader).toMatchObject({ writeId: 0n, writeGeneration: 5n, writeTimestamp: 7n });
    }
    expect(bitAt).toEqual({ 0: [2], 2: [2], 4: [2], 6: [], 8: [] });
    expect(SET_BITMAP_SECONDS).toBe(6);
    sender.clearEvent();
    await sender.renew();
    expect(ls.sector(1).leader).toMatchObject({ writeId: 0n, writeGeneration: 0n, writeTimestamp: 0n });
  });

  it('delivers an event once although every renewal of the sender carries it', async () => {
    const { clock, sender, receiver } = await twoHosts();
    sender.setEvent(2, 5n, 7n, { generation: receiver.generation });
    const received = [];
    for (let i = 0; i < 5; i++) {
      await round(clock, sender, receiver);
      received.push(...receiver.takeEvents());
    }
    expect(received).toEqual([
      { fromHostId: 1, fromGeneration: sender.generation, targetGeneration: receiver.generation, event: 5n, data: 7n },
    ]);
    expect(sender.takeEvents()).toEqual([]);
  });

  it('delivers the same event again once an episode without our bit was seen', async () => {
    const { clock, sender, receiver } = await twoHosts();
    sender.setEvent(2, 5n, 7n);
    for (let i = 0; i < 4; i++) await round(clock, sender, receiver); // bit set for 3 renewals, then clear
    expect(receiver.takeEvents()).toHaveLength(1);
    sender.setEvent(2, 5n, 7n);
    await round(clock, sender, receiver);
    expect(receiver.takeEvents()).toHaveLength(1);
  });

  it('delivers a different event from the same sender', async () => {
    const { clock, sender, receiver } = await twoHosts();
    sender.setEvent(2, 5n, 7n);
    await round(clock, sender, receiver);
    sender.setEvent(2, 6n, 8n, { replace: true });
    await round(clock, sender, receiver);
    expect(receiver.takeEvents().map((e) => e.event)).toEqual([5n, 6n]);
  });

  it('does not deliver an event whose sender did not renew, nor one addressed to another host', async () => {
    const { ls, clock, sender, receiver } = await twoHosts();
    const settings = { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: 10 };
    const third = await clock.run(acquireDeltaLease(ls.disk, clock.view(900), config(3, 'third', settings)));
    sender.setEvent(3, 5n, 7n);
    await round(clock, sender, receiver);
    await third.renew();
    expect(receiver.takeEvents()).toEqual([]);
    expect(third.takeEvents()).toHaveLength(1);
    await receiver.renew(); // the sender has not renewed since: no change, nothing new
    expect(receiver.takeEvents()).toEqual([]);
  });

  it('refuses a different event within 6N (EVENT_BUSY) unless replaced; the same event or a later one is fine', async () => {
    const { clock, sender } = await twoHosts();
    sender.setEvent(2, 5n, 7n);
    const busy = (() => {
      try {
        sender.setEvent(2, 6n, 7n);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(busy).toBeInstanceOf(DeltaError);
    expect((busy as DeltaError).code).toBe('EVENT_BUSY');
    expect(() => sender.setEvent(2, 5n, 7n)).not.toThrow();
    expect(() => sender.setEvent(2, 6n, 7n, { replace: true })).not.toThrow();
    await clock.advance(SET_BITMAP_SECONDS);
    expect(() => sender.setEvent(2, 9n, 9n)).not.toThrow();
  });

  it('rejects event 0, ourselves and host ids outside the lockspace', async () => {
    const { sender } = await twoHosts();
    for (const attempt of [
      () => sender.setEvent(2, 0n, 1n),
      () => sender.setEvent(1, 1n, 1n),
      () => sender.setEvent(2001, 1n, 1n),
      () => sender.pingHost(0),
    ]) {
      expect(attempt).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error);
    }
  });
});

describe('pings (§4 bitmap ping)', () => {
  it('reports the hosts that set our bit, once per takePings()', async () => {
    const { clock, sender, receiver } = await twoHosts();
    sender.pingHost(2);
    expect(sender.pingedHostIds()).toEqual([2]);
    await round(clock, sender, receiver);
    await round(clock, sender, receiver);
    expect(receiver.takePings()).toEqual([1]);
    expect(receiver.takePings()).toEqual([]);
    expect(receiver.takeEvents()).toEqual([]); // a ping alone carries no event
    await clock.advance(SET_BITMAP_SECONDS);
    expect(sender.pingedHostIds()).toEqual([]);
  });
});
