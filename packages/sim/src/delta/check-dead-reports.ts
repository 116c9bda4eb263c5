import { hostDeadSeconds, idRenewalSeconds, RENEWAL_RETRY_SECONDS } from '@leasehold/lease';
import { formatSeconds } from '../trace.js';
import { leaseKey } from './check-silence.js';
import type { DeltaObservations, HostReport, SlotWrite } from './observations.js';
import { EPSILON_SECONDS, type DeltaViolation, type DeltaViolationKind } from './violations.js';

/** One renewal interval of an observer, with the read and write of that renewal and one retry pause. */
export function renewalWindowSeconds(ioTimeoutSeconds: number, maxHealthyLatencySeconds: number): number {
  return idRenewalSeconds(ioTimeoutSeconds) + 2 * maxHealthyLatencySeconds + RENEWAL_RETRY_SECONDS;
}

/**
 * An observer never reports a host DEAD before that host's deadline: 8N + W after the last write of
 * that lease (same writer, same generation) that landed in the slot by then, counted from when the
 * write was issued. The renewal started no later, and a correct observer only sees a write after
 * it landed, so it always passes. A report about a lease released by then is fine.
 *
 * Reports judged from a stale sample (the observer had not sampled the area for more than one
 * renewal interval) and reports about a lease that broke the silence rule are told apart by kind.
 */
export function checkNoEarlyDead(
  observations: DeltaObservations,
  maxHealthyLatencySeconds: number,
  silenceBrokenAtSeconds: ReadonlyMap<string, number>,
): DeltaViolation[] {
  const violations: DeltaViolation[] = [];
  for (const report of observations.reports) {
    if (report.state !== 'DEAD') continue;
    const writes = observations.writesBySlot.get(report.slot) ?? [];
    const matching = writes.filter(
      (write) =>
        write.generation === report.generation &&
        write.timestamp === report.timestamp &&
        write.hostName === report.hostName,
    );
    if (matching.length === 0) {
      violations.push({
        kind: 'phantom-record',
        text: `${describeReport(report)}: no such record was ever written to slot ${report.slot}`,
      });
      continue;
    }
    const sampleAgeSeconds = lastSampleAgeSeconds(observations, report);
    const observer = observations.members.get(report.observer);
    const stale =
      observer === undefined ||
      sampleAgeSeconds > renewalWindowSeconds(observer.ioTimeoutSeconds, maxHealthyLatencySeconds);
    for (const writer of new Set(matching.map((write) => write.writer))) {
      const last = lastLandedBy(writes, writer, report.generation, report.atSeconds);
      if (last === undefined || last.timestamp === 0n) continue;
      const member = observations.members.get(writer);
      const watchdogSeconds = member?.watchdogFireTimeoutSeconds ?? 0;
      const deadlineSeconds = last.issuedAtSeconds + hostDeadSeconds(last.ioTimeoutSeconds, watchdogSeconds);
      if (report.atSeconds >= deadlineSeconds - EPSILON_SECONDS) continue;
      const brokenAt = silenceBrokenAtSeconds.get(leaseKey(report.slot, writer, report.generation));
      const kind: DeltaViolationKind =
        brokenAt !== undefined && brokenAt <= report.atSeconds
          ? 'early-dead-after-silence'
          : stale
            ? 'early-dead-stale-sample'
            : 'early-dead';
      violations.push({
        kind,
        text:
          `${describeReport(report)} before ${writer}'s deadline ${formatSeconds(deadlineSeconds)} ` +
          `(its last write was issued at ${formatSeconds(last.issuedAtSeconds)} and landed at ${formatSeconds(last.landedAtSeconds)}; ` +
          `8 x ${last.ioTimeoutSeconds} + ${watchdogSeconds} s; the observer's newest sample was ${sampleAgeSeconds.toFixed(3)} s old)`,
      });
    }
  }
  return violations;
}

/** How old the observer's newest whole-area sample was when it reported (Infinity: none yet). */
function lastSampleAgeSeconds(observations: DeltaObservations, report: HostReport): number {
  let newest: number | undefined;
  for (const read of observations.areaReadsByReader.get(report.observer) ?? []) {
    if (read.sequence > report.sequence) break;
    newest = read.sampledAtSeconds;
  }
  return newest === undefined ? Infinity : report.atSeconds - newest;
}

/** The last write of one lease (writer and generation) that landed in the slot by `atSeconds`. */
function lastLandedBy(
  writes: readonly SlotWrite[],
  writer: string,
  generation: bigint,
  atSeconds: number,
): SlotWrite | undefined {
  let found: SlotWrite | undefined;
  for (const write of writes) {
    if (write.landedAtSeconds > atSeconds) break;
    if (write.writer === writer && write.generation === generation) found = write;
  }
  return found;
}

export function describeReport(report: HostReport): string {
  return (
    `${report.observer} reported slot ${report.slot} (gen ${report.generation}, "${report.hostName}", ts ${report.timestamp}) ` +
    `${report.state} at ${formatSeconds(report.atSeconds)} [${report.source}${report.observerLeaseValid ? '' : ', own lease expired'}]`
  );
}
