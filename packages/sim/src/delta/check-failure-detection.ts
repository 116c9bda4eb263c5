import { hostDeadSeconds, idRenewalFailSeconds, type HostState } from '@leasehold/lease';
import type { OwnershipInterval } from '../checkers/ownership.js';
import { formatSeconds } from '../trace.js';
import { renewalWindowSeconds } from './check-dead-reports.js';
import type { DeltaObservations, HostReport, SlotWrite } from './observations.js';
import { EPSILON_SECONDS, type DeltaViolation, type Disturbance } from './violations.js';

export interface FailureDetectionOptions {
  /** The largest latency a healthy I/O can have (the model's normal maximum, all paths summed). */
  maxHealthyLatencySeconds: number;
  /** Faults injected on purpose; observers touched by one are not held to the deadline. */
  disturbances: readonly Disturbance[];
}

export interface FailureDetectionResult {
  violations: DeltaViolation[];
  /** How many (silence, observer) pairs were held to the bound: a property that checks none proves nothing. */
  checkedPairs: number;
}

/**
 * A host that stops renewing is reported FAIL, then DEAD, by every healthy observer within one
 * renewal interval of the observer's own deadlines. Those count from when the observer first saw
 * the last write (its first whole-area sample taken after the write landed): FAIL once 8N of the
 * silent host have passed since, DEAD once 8N + W have. "One renewal interval" is 2N of the
 * observer plus the read and write of that renewal (and one retry pause).
 * Observers that were paused, crashed, lost their lease or had I/O trouble meanwhile are exempt.
 */
export function checkFailureDetection(
  observations: DeltaObservations,
  options: FailureDetectionOptions,
): FailureDetectionResult {
  const violations: DeltaViolation[] = [];
  let checkedPairs = 0;
  const runEndSeconds = observations.nowSeconds;
  const reportsByObserverSlot = groupChangeReports(observations.reports);
  for (const [slot, writes] of observations.writesBySlot) {
    for (let index = 0; index < writes.length; index++) {
      const last = writes[index] as SlotWrite;
      if (last.timestamp === 0n) continue; // a release: the slot is FREE, nobody should call it failed
      const silenceEndSeconds = (writes[index + 1] as SlotWrite | undefined)?.landedAtSeconds ?? runEndSeconds;
      for (const observer of observations.members.values()) {
        if (observer.hostId === slot) continue;
        const firstSeen = observations.areaReadsByReader
          .get(observer.label)
          ?.find((read) => read.effectSequence > last.effectSequence);
        if (firstSeen === undefined) continue;
        const windowSeconds = renewalWindowSeconds(observer.ioTimeoutSeconds, options.maxHealthyLatencySeconds);
        const failBySeconds =
          firstSeen.deliveredAtSeconds + idRenewalFailSeconds(last.ioTimeoutSeconds) + windowSeconds + EPSILON_SECONDS;
        const deadBySeconds =
          firstSeen.deliveredAtSeconds +
          hostDeadSeconds(last.ioTimeoutSeconds, observer.watchdogFireTimeoutSeconds) +
          windowSeconds +
          EPSILON_SECONDS;
        if (failBySeconds > silenceEndSeconds) continue; // the slot changed (or the run ended) first
        const checkDead = deadBySeconds <= silenceEndSeconds;
        const untilSeconds = checkDead ? deadBySeconds : failBySeconds;
        if (
          !healthy(
            observations,
            options.disturbances,
            observer.label,
            observer.machine,
            firstSeen.deliveredAtSeconds,
            untilSeconds,
          )
        )
          continue;
        checkedPairs++;
        const reports = reportsByObserverSlot.get(`${observer.label}/${slot}`) ?? [];
        const what =
          `${observer.label} about slot ${slot} (last write by ${last.writer} landed ${formatSeconds(last.landedAtSeconds)}, ` +
          `first seen ${formatSeconds(firstSeen.deliveredAtSeconds)})`;
        const atFail = stateAt(reports, failBySeconds);
        if (atFail !== 'FAIL' && atFail !== 'DEAD') {
          violations.push({
            kind: 'late-fail',
            text: `${what}: still ${atFail ?? 'unreported'} at ${formatSeconds(failBySeconds)}, FAIL was due by then`,
          });
          continue;
        }
        if (!checkDead) continue;
        const atDead = stateAt(reports, deadBySeconds);
        if (atDead !== 'DEAD') {
          violations.push({
            kind: 'late-dead',
            text: `${what}: still ${atDead ?? 'unreported'} at ${formatSeconds(deadBySeconds)}, DEAD was due by then`,
          });
          continue;
        }
        // FAIL comes before DEAD, unless W is shorter than a renewal interval (then one renewal can
        // see LIVE and the next DEAD).
        const sawFail = reports.some(
          (report) =>
            report.state === 'FAIL' &&
            report.atSeconds >= firstSeen.deliveredAtSeconds &&
            report.atSeconds <= deadBySeconds,
        );
        if (!sawFail && observer.watchdogFireTimeoutSeconds > windowSeconds) {
          violations.push({ kind: 'dead-without-fail', text: `${what}: went to DEAD without reporting FAIL first` });
        }
      }
    }
  }
  return { violations, checkedPairs };
}

function healthy(
  observations: DeltaObservations,
  disturbances: readonly Disturbance[],
  label: string,
  machine: string,
  fromSeconds: number,
  toSeconds: number,
): boolean {
  const overlaps = (from: number, to: number): boolean => from <= toSeconds && to >= fromSeconds;
  if (
    disturbances.some((d) => (d.machine === undefined || d.machine === machine) && overlaps(d.fromSeconds, d.toSeconds))
  )
    return false;
  const lifecycleEvent = observations.world.lifecycle.some(
    (entry) =>
      entry.label === label &&
      entry.kind !== 'start' &&
      entry.timeSeconds >= fromSeconds &&
      entry.timeSeconds <= toSeconds,
  );
  if (lifecycleEvent) return false;
  // The observer must hold its lease the whole time (it only samples while joined).
  return observations.ownership.intervals.some(
    (interval: OwnershipInterval) =>
      interval.owner === label && interval.startSeconds <= fromSeconds && interval.endSeconds >= toSeconds,
  );
}

function groupChangeReports(reports: readonly HostReport[]): Map<string, HostReport[]> {
  const grouped = new Map<string, HostReport[]>();
  for (const report of reports) {
    if (report.source !== 'change') continue;
    const key = `${report.observer}/${report.slot}`;
    const list = grouped.get(key) ?? [];
    list.push(report);
    grouped.set(key, list);
  }
  return grouped;
}

/** The state an observer last reported at or before `atSeconds`. */
function stateAt(reports: readonly HostReport[], atSeconds: number): HostState | undefined {
  let state: HostState | undefined;
  for (const report of reports) {
    if (report.atSeconds > atSeconds) break;
    state = report.state;
  }
  return state;
}
