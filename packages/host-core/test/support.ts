import type { Clock } from '@leasehold/lease';
import { HostCore, type HostCoreConfig } from '../src/host-core.js';
import type { HostAction, HostEvent, Holder } from '../src/types.js';

export class ManualClock implements Clock {
  constructor(public now = 1000) {}
  nowSeconds(): number {
    return this.now;
  }
  sleep(): Promise<void> {
    return Promise.reject(new Error('the host core never sleeps'));
  }
}

export const IO_TIMEOUT = 10;
export const CLIENT: Holder = { kind: 'process', pid: 100, startTime: 7n };
export const PERSISTENT: Holder = { kind: 'persistent' };

export function newCore(config: Partial<HostCoreConfig> = {}): {
  core: HostCore;
  clock: ManualClock;
  step: (event: HostEvent) => HostAction[];
} {
  const clock = new ManualClock();
  const core = new HostCore(clock, {
    ioTimeoutSeconds: IO_TIMEOUT,
    watchdogFireTimeoutSeconds: 60,
    killGraceSeconds: 5,
    ...config,
  });
  return { core, clock, step: (event) => core.step(event) };
}

export const lockstart = (reqId = 1): HostEvent => ({
  type: 'lockstart',
  reqId,
  name: 'ls',
  path: '/dev/x',
  offsetBytes: 0,
  hostIdRequest: 3,
});
export const joinOk = (at: number): HostEvent => ({
  type: 'join_result',
  name: 'ls',
  result: { ok: true, facts: { hostId: 3, generation: 2n, lastRenewalSeconds: at } },
});

export function ofType<T extends HostAction['type']>(
  actions: HostAction[],
  type: T,
): Array<Extract<HostAction, { type: T }>> {
  return actions.filter((action): action is Extract<HostAction, { type: T }> => action.type === type);
}
