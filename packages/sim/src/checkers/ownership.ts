import { formatSeconds } from '../trace.js';

/**
 * Who held what, when, in global virtual time. Generic: a delta lease's host_id, a paxos
 * resource (exclusive or shared) all reduce to intervals of ownership per resource.
 */
export type OwnershipMode = 'exclusive' | 'shared';

export interface OwnershipInterval {
  resource: string;
  /** Incarnation label of the holder. */
  owner: string;
  mode: OwnershipMode;
  startSeconds: number;
  endSeconds: number;
  /** Why it ended: "released", "crash", "deadline", "lost", "end of run", ... */
  endReason: string;
}

export interface OwnershipOverlap {
  resource: string;
  first: OwnershipInterval;
  second: OwnershipInterval;
  fromSeconds: number;
  toSeconds: number;
}

interface OpenOwnership {
  resource: string;
  owner: string;
  mode: OwnershipMode;
  startSeconds: number;
  /** Ownership ends by itself here unless renewed first. */
  deadlineSeconds: number;
}

/**
 * Builds ownership intervals from what holders report: begin (acquired, with a deadline), renew
 * (deadline moves), end (released, crashed, lost). An owner whose deadline passes stops owning at
 * that deadline; a renewal reported after it passed is a "resurrection" and is reported as a
 * problem, because a holder must stop using a lease once its own deadline has gone by.
 */
export class OwnershipTracker {
  readonly intervals: OwnershipInterval[] = [];
  readonly problems: string[] = [];
  private readonly open = new Map<string, OpenOwnership>();

  begin(resource: string, owner: string, mode: OwnershipMode, atSeconds: number, deadlineSeconds: number): void {
    const key = keyOf(resource, owner);
    const previous = this.open.get(key);
    if (previous !== undefined) this.close(previous, Math.min(atSeconds, previous.deadlineSeconds), 'acquired again');
    this.open.set(key, { resource, owner, mode, startSeconds: atSeconds, deadlineSeconds });
  }

  renew(resource: string, owner: string, atSeconds: number, deadlineSeconds: number): void {
    const current = this.open.get(keyOf(resource, owner));
    if (current === undefined) {
      this.problems.push(`${owner} renewed ${resource} at ${formatSeconds(atSeconds)} without owning it`);
      return;
    }
    if (atSeconds > current.deadlineSeconds) {
      this.problems.push(
        `${owner} renewed ${resource} at ${formatSeconds(atSeconds)}, after its ownership had ended at its deadline ${formatSeconds(current.deadlineSeconds)}`,
      );
      this.close(current, current.deadlineSeconds, 'deadline');
      return;
    }
    current.deadlineSeconds = Math.max(current.deadlineSeconds, deadlineSeconds);
  }

  /** True if `owner` holds `resource` at `atSeconds` by what has been reported so far. */
  owns(resource: string, owner: string, atSeconds: number): boolean {
    const current = this.open.get(keyOf(resource, owner));
    return current !== undefined && atSeconds <= current.deadlineSeconds;
  }

  end(resource: string, owner: string, atSeconds: number, reason: string): void {
    const current = this.open.get(keyOf(resource, owner));
    if (current !== undefined)
      this.close(
        current,
        Math.min(atSeconds, current.deadlineSeconds),
        atSeconds > current.deadlineSeconds ? 'deadline' : reason,
      );
  }

  /** Ends everything `owner` holds (it crashed). */
  endAll(owner: string, atSeconds: number, reason: string): void {
    for (const current of [...this.open.values()]) {
      if (current.owner === owner) this.end(current.resource, owner, atSeconds, reason);
    }
  }

  /** Closes whatever is still open at the end of the run. */
  finish(atSeconds: number): void {
    for (const current of [...this.open.values()]) this.end(current.resource, current.owner, atSeconds, 'end of run');
  }

  /** Pairs of different owners whose intervals overlap on one resource (two shared holders may). */
  overlaps(): OwnershipOverlap[] {
    const byResource = new Map<string, OwnershipInterval[]>();
    for (const interval of this.intervals) {
      const list = byResource.get(interval.resource) ?? [];
      list.push(interval);
      byResource.set(interval.resource, list);
    }
    const found: OwnershipOverlap[] = [];
    for (const [resource, list] of byResource) {
      list.sort((x, y) => x.startSeconds - y.startSeconds);
      for (let i = 0; i < list.length; i++) {
        const first = list[i] as OwnershipInterval;
        for (let j = i + 1; j < list.length; j++) {
          const second = list[j] as OwnershipInterval;
          if (second.startSeconds >= first.endSeconds) break;
          if (first.owner === second.owner) continue;
          if (first.mode === 'shared' && second.mode === 'shared') continue;
          found.push({
            resource,
            first,
            second,
            fromSeconds: second.startSeconds,
            toSeconds: Math.min(first.endSeconds, second.endSeconds),
          });
        }
      }
    }
    return found;
  }

  private close(current: OpenOwnership, endSeconds: number, endReason: string): void {
    this.open.delete(keyOf(current.resource, current.owner));
    this.intervals.push({
      resource: current.resource,
      owner: current.owner,
      mode: current.mode,
      startSeconds: current.startSeconds,
      endSeconds: Math.max(endSeconds, current.startSeconds),
      endReason,
    });
  }
}

function keyOf(resource: string, owner: string): string {
  return `${resource}\u0000${owner}`;
}

export function describeOverlap(overlap: OwnershipOverlap): string {
  const show = (interval: OwnershipInterval): string =>
    `${interval.owner} (${interval.mode}) ${formatSeconds(interval.startSeconds)}..${formatSeconds(interval.endSeconds)} [${interval.endReason}]`;
  return `${overlap.resource} owned twice from ${formatSeconds(overlap.fromSeconds)} to ${formatSeconds(overlap.toSeconds)}: ${show(overlap.first)} and ${show(overlap.second)}`;
}
