/**
 * The chaos checker: from the hosts' histories and the records read off each LV after the run, the
 * violations of the lease guarantees (see violations.ts and docs/timing.md "The chaos run"). Pure: no
 * clock, no I/O; all times are CLOCK_MONOTONIC ns from the history.
 */
import type { DecodedSlot } from '../record.js';
import { RENEWAL_STOPPING_FAULTS, type HistoryEvent, type WriteEvent } from '../history.js';
import { buildEpochs, sortedEvents, type Epoch } from './epochs.js';
import { MAX_REPORTED_VIOLATIONS, type Violation, type ViolationKind } from './violations.js';

/** The first sectors of one LV, read after the run (slot i = sector i). */
export interface LvImage {
  lv: string;
  slots: readonly DecodedSlot[];
}

export interface CheckInput {
  events: readonly HistoryEvent[];
  images: readonly LvImage[];
  /**
   * The least time from a fault that stops a host's renewals to a takeover of its leases:
   * host_dead (8 x io_timeout + W) less one renewal interval and one io_timeout (the host may have
   * renewed that long before the fault, and the renewal's timestamp is taken before its I/O).
   */
  minTakeoverDelayNs: bigint;
  /** The end of the run: the use of an epoch nothing ended lasts until here. */
  runEndNs: bigint;
  /** The peer hosts (the real sanlock, lvmlockd + sanlock): their epochs are checked as everyone's, and counted apart. */
  peers?: readonly PeerHost[];
}

export interface PeerHost {
  host: string;
  kind: string;
}

export interface PeerCounts extends PeerHost {
  activations: number;
  /** Activations of this peer that took an LV from a fenced host. */
  takeovers: number;
}

export interface CheckCounts {
  faults: number;
  activations: number;
  takeovers: number;
  acknowledgedWrites: number;
  peers: PeerCounts[];
}

export interface CheckResult {
  violations: Violation[];
  counts: CheckCounts;
}

const HOST_INDEX = /^host([1-9]\d*)$/;

class Report {
  readonly violations: Violation[] = [];
  add(kind: ViolationKind, lv: string, message: string): void {
    if (this.violations.length < MAX_REPORTED_VIOLATIONS) this.violations.push({ kind, lv, message });
  }
}

function describe(epoch: Epoch): string {
  return `${epoch.host} ${epoch.mode} epoch ${epoch.epoch} [${epoch.startNs}, ${epoch.useEndNs}]`;
}

function byLv(epochs: Iterable<Epoch>): Map<string, Epoch[]> {
  const grouped = new Map<string, Epoch[]>();
  for (const epoch of epochs) grouped.set(epoch.lv, [...(grouped.get(epoch.lv) ?? []), epoch]);
  for (const list of grouped.values())
    list.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  return grouped;
}

/** Two hosts' uses of one LV overlap in time, one of them exclusive. */
function checkOverlaps(lvEpochs: Map<string, Epoch[]>, report: Report): void {
  for (const [lv, list] of lvEpochs) {
    let open: Epoch[] = [];
    for (const epoch of list) {
      open = open.filter((other) => other.useEndNs > epoch.startNs);
      for (const other of open) {
        if (other.host === epoch.host) continue;
        if (other.mode === 'SH' && epoch.mode === 'SH') continue;
        report.add(
          other.mode === 'EX' && epoch.mode === 'EX' ? 'ex-overlap' : 'ex-sh-overlap',
          lv,
          `${lv}: ${describe(other)} overlaps ${describe(epoch)}`,
        );
      }
      open.push(epoch);
    }
  }
}

interface HostFacts {
  renewalStops: bigint[];
  resets: bigint[];
  boots: bigint[];
  /** Daemon starts after a kill that joined with a new generation (the old leases free from then). */
  rejoins: bigint[];
}

function hostFacts(sorted: readonly HistoryEvent[]): Map<string, HostFacts> {
  const facts = new Map<string, HostFacts>();
  const of = (host: string): HostFacts => {
    let entry = facts.get(host);
    if (entry === undefined) {
      entry = { renewalStops: [], resets: [], boots: [], rejoins: [] };
      facts.set(host, entry);
    }
    return entry;
  };
  for (const event of sorted) {
    if (event.kind === 'fault' && RENEWAL_STOPPING_FAULTS.has(event.fault)) of(event.host).renewalStops.push(event.tNs);
    if (event.kind === 'reset') of(event.host).resets.push(event.tNs);
    if (event.kind === 'boot') of(event.host).boots.push(event.tNs);
    if (event.kind === 'daemon-start' && event.newGeneration) of(event.host).rejoins.push(event.tNs);
  }
  return facts;
}

function firstIn(times: readonly bigint[], afterNs: bigint, beforeNs: bigint): bigint | undefined {
  return times.find((t) => t > afterNs && t < beforeNs);
}

/**
 * A takeover: an activation on a host while another host's conflicting epoch on the LV was never
 * released. Legal only after that host stopped renewing (a fault) or was reset, and not before the
 * deadline: fault + minTakeoverDelay, or the host's boot after a reset, or its daemon's restart that
 * joined with a new generation, if that came first (sanlock: a lease whose owner's host_id shows a
 * new generation is free at once; a rebooted host has nothing of its old processes left, a restarted
 * daemon deactivates the old generation's LVs before it writes the new one).
 */
function checkTakeovers(
  lvEpochs: Map<string, Epoch[]>,
  facts: Map<string, HostFacts>,
  minTakeoverDelayNs: bigint,
  report: Report,
): Map<string, number> {
  const takeovers = new Map<string, number>();
  for (const [lv, list] of lvEpochs) {
    for (let index = 0; index < list.length; index++) {
      const taker = list[index]!;
      let tookOver = false;
      for (let before = 0; before < index; before++) {
        const held = list[before]!;
        if (held.host === taker.host || (held.mode === 'SH' && taker.mode === 'SH')) continue;
        if (held.releasedNs !== undefined && held.releasedNs <= taker.startNs) continue;
        // Its deactivation was asked and never answered: the daemon may have released the lease at
        // any moment from that request on (its use ended there). Taken before the holder's deadline,
        // it was free then: neither a violation nor a takeover. Taken after, it counts as one.
        const mayBeFree = held.releaseAskedNs !== undefined && held.releaseAskedNs <= taker.startNs;
        // The lease has moved: later activations take it from the taker, not from this epoch.
        held.releasedNs = taker.startNs;
        const host = facts.get(held.host) ?? { renewalStops: [], resets: [], boots: [], rejoins: [] };
        // From the request on: a fault between the activation's request and its answer (the lease may
        // already be granted) stops the renewals that keep it, as one after the answer does.
        const stop = firstIn(host.renewalStops, held.requestedNs, taker.startNs);
        const reset = firstIn(host.resets, held.requestedNs, taker.startNs);
        if (stop === undefined && reset === undefined) {
          if (mayBeFree) continue;
          tookOver = true;
          report.add(
            'takeover-of-live-lease',
            lv,
            `${lv}: ${taker.host} took it at ${taker.startNs} while ${describe(held)} was never released and ${held.host} was neither faulted nor reset`,
          );
          continue;
        }
        if (stop !== undefined) {
          const boot = reset === undefined ? undefined : firstIn(host.boots, reset, taker.startNs + 1n);
          const rejoin = firstIn(host.rejoins, stop, taker.startNs + 1n);
          let earliest = stop + minTakeoverDelayNs;
          for (const free of [boot, rejoin]) if (free !== undefined && free < earliest) earliest = free;
          if (taker.startNs < earliest) {
            if (mayBeFree) continue;
            report.add(
              'early-takeover',
              lv,
              `${lv}: ${taker.host} took it at ${taker.startNs}, ${Number(earliest - taker.startNs) / 1e9} s before ${held.host}'s deadline (renewals stopped at ${stop})`,
            );
          }
        }
        tookOver = true;
      }
      if (tookOver) takeovers.set(taker.host, (takeovers.get(taker.host) ?? 0) + 1);
    }
  }
  return takeovers;
}

function recordKey(host: string, lv: string, epoch: bigint, seq: bigint): string {
  return `${host}\u0000${lv}\u0000${epoch}\u0000${seq}`;
}

function hostName(index: number): string {
  return `host${index}`;
}

/** Every acknowledged write is on the device unless a later write to its slot replaced it. */
function checkDevice(sorted: readonly HistoryEvent[], images: readonly LvImage[], report: Report): void {
  const starts = new Map<string, WriteEvent>();
  const acks = new Map<string, bigint>();
  const writesBySlot = new Map<string, WriteEvent[]>();
  for (const event of sorted) {
    if (event.kind === 'write-start') {
      starts.set(recordKey(event.host, event.lv, event.epoch, event.seq), event);
      const slotKey = `${event.lv}\u0000${event.slot}`;
      writesBySlot.set(slotKey, [...(writesBySlot.get(slotKey) ?? []), event]);
    } else if (event.kind === 'write-ok') {
      acks.set(recordKey(event.host, event.lv, event.epoch, event.seq), event.tNs);
    }
  }
  for (const image of images) {
    image.slots.forEach((slot, index) => {
      const where = `${image.lv} slot ${index}`;
      const writes = writesBySlot.get(`${image.lv}\u0000${index}`) ?? [];
      let found: WriteEvent | undefined;
      if (slot.kind === 'record') {
        const { record } = slot;
        if (record.lv !== image.lv || record.slot !== index) {
          report.add(
            'misplaced-record',
            image.lv,
            `${where} holds a record written to ${record.lv} slot ${record.slot}`,
          );
          return;
        }
        found = starts.get(recordKey(hostName(record.hostIndex), record.lv, record.epoch, record.seq));
        if (found === undefined || found.slot !== index) {
          report.add(
            'phantom-record',
            image.lv,
            `${where} holds host${record.hostIndex} epoch ${record.epoch} seq ${record.seq}, which no writer issued`,
          );
          return;
        }
      } else if (slot.kind !== 'empty' && writes.length > 0) {
        report.add('corrupt-record', image.lv, `${where} was written but holds ${slot.kind} bytes`);
        return;
      }
      let latest: { write: WriteEvent; okNs: bigint } | undefined;
      for (const write of writes) {
        const okNs = acks.get(recordKey(write.host, write.lv, write.epoch, write.seq));
        if (okNs !== undefined && (latest === undefined || okNs > latest.okNs)) latest = { write, okNs };
      }
      if (latest === undefined || found === latest.write) return;
      if (found !== undefined && found.tNs > latest.okNs) return;
      const holds =
        found === undefined
          ? slot.kind
          : `${found.host} epoch ${found.epoch} seq ${found.seq} (issued at ${found.tNs}, before)`;
      report.add(
        'lost-write',
        image.lv,
        `${where}: acknowledged write ${latest.write.host} epoch ${latest.write.epoch} seq ${latest.write.seq} (acknowledged at ${latest.okNs}) is missing; the device holds ${holds}`,
      );
    });
  }
}

function checkReads(sorted: readonly HistoryEvent[], report: Report): void {
  for (const event of sorted) {
    if (event.kind === 'read' && event.result !== 'ok' && event.result !== 'empty') {
      report.add(
        'readback',
        event.lv,
        `${event.host} epoch ${event.epoch} read ${event.result} at ${event.lv} slot ${event.slot} (at ${event.tNs})`,
      );
    }
  }
}

export function checkHistory(input: CheckInput): CheckResult {
  const sorted = sortedEvents(input.events);
  for (const event of sorted) {
    if (!HOST_INDEX.test(event.host)) throw new RangeError(`host names are hostN, got ${JSON.stringify(event.host)}`);
  }
  const report = new Report();
  const epochs = buildEpochs(sorted, input.runEndNs);
  const lvEpochs = byLv(epochs.values());
  checkOverlaps(lvEpochs, report);
  const takeovers = checkTakeovers(lvEpochs, hostFacts(sorted), input.minTakeoverDelayNs, report);
  const activationsOf = (host: string): number =>
    sorted.filter((event) => event.kind === 'activate-ok' && event.host === host).length;
  checkDevice(sorted, input.images, report);
  checkReads(sorted, report);
  return {
    violations: report.violations,
    counts: {
      faults: sorted.filter((event) => event.kind === 'fault').length,
      activations: sorted.filter((event) => event.kind === 'activate-ok').length,
      takeovers: [...takeovers.values()].reduce((sum, count) => sum + count, 0),
      acknowledgedWrites: sorted.filter((event) => event.kind === 'write-ok').length,
      peers: (input.peers ?? []).map((peer) => ({
        ...peer,
        activations: activationsOf(peer.host),
        takeovers: takeovers.get(peer.host) ?? 0,
      })),
    },
  };
}

/** The peers' line, after the summary line of a run with peers: `chaos peers: host6 lvmlockd 12 activations 1 takeovers, ...`. */
export function peersLine(result: CheckResult): string | undefined {
  const { peers } = result.counts;
  if (peers.length === 0) return undefined;
  return `chaos peers: ${peers.map((peer) => `${peer.host} ${peer.kind} ${peer.activations} activations ${peer.takeovers} takeovers`).join(', ')}`;
}

/** The run's one summary line. */
export function summaryLine(result: CheckResult, seconds: number): string {
  const { counts } = result;
  return `chaos: ${counts.faults} faults, ${counts.activations} activations, ${counts.takeovers} takeovers, ${counts.acknowledgedWrites} acknowledged writes, ${result.violations.length} violations, ${Math.round(seconds)} s`;
}
