import {
  acquireDeltaLease,
  idRenewalFailSeconds,
  isDeltaError,
  runRenewalLoop,
  type DeltaErrorCode,
  type DeltaLeaseConfig,
  type HeldDeltaLease,
} from '@leasehold/lease';
import { setMaxListeners } from 'node:events';
import { describeError, type HostContext, type HostProgram } from '../host.js';
import { hostIdResource, type DeltaObservations } from './observations.js';

/** How often a member looks at hosts() between renewals, to catch a DEAD reported early. */
export const DEFAULT_POLL_SECONDS = 1;

/** Failures the delta lease may report in a faulty world; anything else is a bug worth a look. */
const EXPECTED_CODES: ReadonlySet<DeltaErrorCode> = new Set<DeltaErrorCode>([
  'HOSTID_BUSY',
  'IO_ERROR',
  'LEASE_LOST',
  'RENEW_OWNER',
  'RENEW_DIFF',
]);

export interface DeltaMemberPlan {
  hostId: number;
  hostName: string;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  /** After a failed acquire, a loss or a release, join again after this long (own clock); absent: stop. */
  rejoinAfterSeconds?: number;
  /** Most acquire attempts this incarnation makes. */
  maxAttempts?: number;
  pollSeconds?: number;
  /** Codes to accept on top of the usual ones (e.g. CORRUPT when torn writes are on). */
  extraExpectedCodes?: readonly DeltaErrorCode[];
}

const DEFAULT_MAX_ATTEMPTS = 1000;
const MAX_ABORT_LISTENERS = 1000;

/**
 * A host that joins a lockspace with the real delta-lease code (acquireDeltaLease + runRenewalLoop)
 * and reports everything to DeltaObservations: acquire results, renewals, host state reports, loss.
 * It moves its watchdog expiry forward on every renewal (8N after the renewal started), as the
 * daemon does with wdmd.
 */
export function deltaMemberProgram(observations: DeltaObservations, plan: DeltaMemberPlan): HostProgram {
  return async (context: HostContext): Promise<void> => {
    const { clock, label } = context;
    const disk = context.disk(observations.lockspace.disk);
    const config: DeltaLeaseConfig = {
      spaceName: observations.lockspace.spaceName,
      hostId: plan.hostId,
      areaOffsetBytes: observations.lockspace.areaOffsetBytes,
      hostName: plan.hostName,
      ioTimeoutSeconds: plan.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: plan.watchdogFireTimeoutSeconds,
    };
    observations.join({ label, machine: context.machine, ...plan });
    const resource = hostIdResource(plan.hostId);
    const failSeconds = idRenewalFailSeconds(plan.ioTimeoutSeconds);
    const globalDeadline = (lease: HeldDeltaLease): number =>
      clock.toGlobalSeconds(lease.lastRenewalSeconds + failSeconds);
    const expected = new Set([...EXPECTED_CODES, ...(plan.extraExpectedCodes ?? [])]);
    const judge = (what: string, error: unknown): void => {
      if (isDeltaError(error) && expected.has(error.code)) {
        context.note(`${what}: ${error.code} ${error.message}`);
      } else {
        observations.problem(label, `${what} failed unexpectedly: ${describeError(error)}`);
      }
    };

    for (let attempt = 0; attempt < (plan.maxAttempts ?? DEFAULT_MAX_ATTEMPTS); attempt++) {
      context.note(`acquire host_id ${plan.hostId} as "${plan.hostName}" (N=${plan.ioTimeoutSeconds})`);
      let lease: HeldDeltaLease;
      try {
        lease = await acquireDeltaLease(disk, clock, config);
      } catch (error) {
        judge('acquire', error);
        if (plan.rejoinAfterSeconds === undefined) return;
        await clock.sleep(plan.rejoinAfterSeconds);
        continue;
      }
      context.note(
        `acquired generation ${lease.generation}, deadline ${(lease.lastRenewalSeconds + failSeconds).toFixed(3)} (local)`,
      );
      observations.ownership.begin(resource, label, 'exclusive', observations.nowSeconds, globalDeadline(lease));
      context.watchdog.setExpiry(lease.lastRenewalSeconds + failSeconds);

      const stop = new AbortController();
      // The renewal loop leaves one abort listener per pending deadline timer (reported to the
      // lease owners); raise the limit so Node's leak warning does not drown the test output.
      setMaxListeners(MAX_ABORT_LISTENERS, stop.signal);
      observations.setReleaseHandle(label, () => stop.abort());
      let held = true;
      void pollHosts(observations, context, lease, plan.pollSeconds ?? DEFAULT_POLL_SECONDS, () => held);
      const outcome = await runRenewalLoop(
        lease,
        clock,
        {
          onRenewed: () => {
            // The renewal took effect when its write landed, which may be well before we hear of it.
            const landedAtSeconds = observations.lastWriteBy(label)?.landedAtSeconds ?? observations.nowSeconds;
            observations.ownership.renew(resource, label, landedAtSeconds, globalDeadline(lease));
            context.watchdog.setExpiry(lease.lastRenewalSeconds + failSeconds);
          },
          onHostChange: (change) => {
            const { status } = change;
            context.note(
              `host ${status.hostId} ${change.previousState ?? '-'} -> ${status.state} (gen ${status.generation})`,
            );
            observations.report({
              observer: label,
              slot: status.hostId,
              state: status.state,
              generation: status.generation,
              hostName: status.hostName,
              timestamp: status.timestamp,
              source: 'change',
            });
          },
          onLost: (error) => {
            observations.ownership.end(resource, label, observations.nowSeconds, `lost (${error.code})`);
            observations.lost(label, error.code);
            judge('renewal', error);
          },
        },
        stop.signal,
      );
      held = false;
      observations.setReleaseHandle(label, undefined);
      if (outcome === 'stopped') {
        context.note('releasing');
        observations.ownership.end(resource, label, observations.nowSeconds, 'released');
        try {
          await lease.release();
          context.watchdog.disarm();
        } catch (error) {
          judge('release', error);
        }
      }
      // After a loss the watchdog stays armed at the old expiry: it resets this host unless a
      // rejoin moves the expiry forward first (the real daemon cannot unregister while I/O hangs).
      if (plan.rejoinAfterSeconds === undefined) return;
      await clock.sleep(plan.rejoinAfterSeconds);
    }
  };
}

/** Records the first DEAD that hosts() shows for each record, between renewals too. */
async function pollHosts(
  observations: DeltaObservations,
  context: HostContext,
  lease: HeldDeltaLease,
  pollSeconds: number,
  held: () => boolean,
): Promise<void> {
  const reported = new Set<string>();
  while (held() && !lease.released) {
    for (const status of lease.hosts()) {
      if (status.hostId === lease.config.hostId || status.state !== 'DEAD') continue;
      const key = `${status.hostId}/${status.generation}/${status.timestamp}/${status.hostName}`;
      if (reported.has(key)) continue;
      reported.add(key);
      observations.report({
        observer: context.label,
        slot: status.hostId,
        state: status.state,
        generation: status.generation,
        hostName: status.hostName,
        timestamp: status.timestamp,
        source: 'poll',
      });
    }
    await context.clock.sleep(pollSeconds);
  }
}
