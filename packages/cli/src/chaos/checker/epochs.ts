/**
 * Epochs: one activation of one LV on one host, from its acknowledgement to the end of its use. The
 * use ends at the earliest of: the writer's deactivate request (it closed the device before asking),
 * the writer's death (the harness saw it exit), the host's reset, a cleanup deactivation that
 * succeeded. An epoch whose lease was never seen released (no deactivate-ok) is "unreleased": another
 * host may only have it after fencing, unless a deactivation of it was asked and never answered (the
 * asker was frozen, killed or reset while its daemon released the lease): then the lease may be free
 * from that request on.
 */
import type { HistoryEvent, LeaseMode } from '../history.js';

export interface Epoch {
  host: string;
  lv: string;
  epoch: bigint;
  mode: LeaseMode;
  worker: string;
  /**
   * When the activation was asked (activate-start): the daemon may hold the lease from then on, so a
   * fault that stops the host's renewals between the request and its answer fences this epoch too.
   */
  requestedNs: bigint;
  startNs: bigint;
  /** End of use; `runEndNs` when nothing ended it. */
  useEndNs: bigint;
  /** When the lease was seen released (deactivate-ok); undefined: never. */
  releasedNs: bigint | undefined;
  /**
   * The first deactivation of this epoch that was asked and never answered (no deactivate-ok or -fail
   * of that request): the daemon may have released the lease from then on. Undefined: none.
   */
  releaseAskedNs: bigint | undefined;
}

/** A failed deactivation whose answer was lost with the connection (the daemon was killed meanwhile). */
const LOST_ANSWER = /closed the connection|cannot reach the leasehold daemon|ECONNRESET|EPIPE|timed out/i;

export function epochKey(host: string, lv: string, epoch: bigint): string {
  return `${host}\u0000${lv}\u0000${epoch}`;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** Events in time order (stable for equal times: the order they were given in). */
export function sortedEvents(events: readonly HistoryEvent[]): HistoryEvent[] {
  return events
    .map((event, index) => ({ event, index }))
    .sort((a, b) => (a.event.tNs < b.event.tNs ? -1 : a.event.tNs > b.event.tNs ? 1 : a.index - b.index))
    .map(({ event }) => event);
}

export function buildEpochs(sorted: readonly HistoryEvent[], runEndNs: bigint): Map<string, Epoch> {
  const epochs = new Map<string, Epoch>();
  const byWorker = new Map<string, Epoch[]>();
  const byHost = new Map<string, Epoch[]>();
  /** Deactivations asked and not answered yet, by host, worker and LV. */
  const unanswered = new Map<string, { atNs: bigint; epochs: Epoch[] }>();
  const requestKey = (event: { host: string; worker: string; lv: string }): string =>
    `${event.host}\u0000${event.worker}\u0000${event.lv}`;
  /** The request's epochs may be free from its time on. */
  const markAsked = (request: { atNs: bigint; epochs: Epoch[] } | undefined): void => {
    if (request === undefined) return;
    for (const epoch of request.epochs) {
      if (epoch.releaseAskedNs === undefined || request.atNs < epoch.releaseAskedNs)
        epoch.releaseAskedNs = request.atNs;
    }
  };
  const endUse = (list: Epoch[] | undefined, atNs: bigint, lv?: string): void => {
    for (const epoch of list ?? []) {
      if (epoch.startNs <= atNs && (lv === undefined || epoch.lv === lv)) epoch.useEndNs = min(epoch.useEndNs, atNs);
    }
  };
  /** activate-start times of activations not answered yet, by epoch key. */
  const requested = new Map<string, bigint>();
  for (const event of sorted) {
    switch (event.kind) {
      case 'activate-start':
        requested.set(epochKey(event.host, event.lv, event.epoch), event.tNs);
        break;
      case 'activate-fail':
        requested.delete(epochKey(event.host, event.lv, event.epoch));
        break;
      case 'activate-ok': {
        const key = epochKey(event.host, event.lv, event.epoch);
        const requestedNs = requested.get(key) ?? event.tNs;
        requested.delete(key);
        const epoch: Epoch = {
          host: event.host,
          lv: event.lv,
          epoch: event.epoch,
          mode: event.mode,
          worker: event.worker,
          requestedNs: min(requestedNs, event.tNs),
          startNs: event.tNs,
          useEndNs: runEndNs,
          releasedNs: undefined,
          releaseAskedNs: undefined,
        };
        epochs.set(epochKey(event.host, event.lv, event.epoch), epoch);
        byWorker.set(event.worker, [...(byWorker.get(event.worker) ?? []), epoch]);
        byHost.set(event.host, [...(byHost.get(event.host) ?? []), epoch]);
        break;
      }
      case 'deactivate-start': {
        const epoch = event.epoch === null ? undefined : epochs.get(epochKey(event.host, event.lv, event.epoch));
        if (epoch !== undefined) epoch.useEndNs = min(epoch.useEndNs, event.tNs);
        // The harness's cleanup (no epoch) deactivates whatever the host still has active on the LV.
        const asked =
          event.epoch === null
            ? (byHost.get(event.host) ?? []).filter(
                (other) => other.lv === event.lv && other.startNs <= event.tNs && other.releasedNs === undefined,
              )
            : epoch === undefined
              ? []
              : [epoch];
        // An earlier request of the same asker that never got its answer stays unanswered.
        markAsked(unanswered.get(requestKey(event)));
        unanswered.set(requestKey(event), { atNs: event.tNs, epochs: asked });
        break;
      }
      case 'deactivate-fail':
        // A broken connection is no answer: the daemon may have carried the request out (or, killed
        // half-way, its successor releases the lease of a device already gone).
        if (!LOST_ANSWER.test(event.code ?? '')) unanswered.delete(requestKey(event));
        break;
      case 'deactivate-ok': {
        // The release happened somewhere between the request and this answer.
        markAsked(unanswered.get(requestKey(event)));
        unanswered.delete(requestKey(event));
        // The host's lease on the LV is gone, whichever epoch asked: an LV is active once per host, so
        // an earlier epoch whose own deactivation failed (or whose writer died) ends here too.
        for (const epoch of byHost.get(event.host) ?? []) {
          if (epoch.lv !== event.lv || epoch.startNs > event.tNs) continue;
          epoch.useEndNs = min(epoch.useEndNs, event.tNs);
          epoch.releasedNs ??= event.tNs;
        }
        break;
      }
      case 'worker-exit':
        endUse(byWorker.get(event.worker), event.tNs);
        break;
      case 'reset':
        endUse(byHost.get(event.host), event.tNs);
        break;
      default:
        break;
    }
  }
  for (const request of unanswered.values()) markAsked(request);
  return epochs;
}
