/**
 * §6 receiving side, with de-duplication. A sender's event is visible on every one of its renewals
 * while our bit is set in its bitmap (about 3 renewals), so the same event is offered several times.
 * It is delivered once per "episode": an identical event from the same sender (same generation) is
 * delivered again only after a renewal of that sender was seen without our bit or without an event.
 * (A repeat sent so quickly that no such renewal is observed in between is merged with the first.)
 */
import type { DeltaEvent } from './api.js';

/** Received events kept for takeEvents(); beyond this the oldest are dropped (nobody is reading). */
export const MAX_QUEUED_EVENTS = 1024;

export class EventInbox {
  /** Sender host_id -> key of the event delivered in its current episode. */
  private readonly delivered = new Map<number, string>();
  private queue: DeltaEvent[] = [];
  private droppedCount = 0;

  /** A renewal of the sender carried our bit and this event. Returns true if it is new (queued). */
  offer(event: DeltaEvent): boolean {
    const key = `${event.fromGeneration}:${event.targetGeneration}:${event.event}:${event.data}`;
    if (this.delivered.get(event.fromHostId) === key) return false;
    this.delivered.set(event.fromHostId, key);
    this.queue.push(event);
    if (this.queue.length > MAX_QUEUED_EVENTS) {
      this.queue.shift();
      this.droppedCount++;
    }
    return true;
  }

  /** A renewal of the sender without our bit or without an event: its episode is over. */
  endEpisode(fromHostId: number): void {
    this.delivered.delete(fromHostId);
  }

  /** Events received since the last call, oldest first. */
  take(): DeltaEvent[] {
    const events = this.queue;
    this.queue = [];
    return events;
  }

  /** Events dropped because the queue was full. */
  get dropped(): number {
    return this.droppedCount;
  }
}
