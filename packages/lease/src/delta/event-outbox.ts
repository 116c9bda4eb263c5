/**
 * §6 set_event, sending side: a host keeps ONE current event per lockspace. Its renewals write it
 * into its own delta sector: write_id (+176) = target generation, write_generation (+184) = event,
 * write_timestamp (+192) = data. The fields stay after the target's bit expires, until the event is
 * replaced or cleared. A different event within set_bitmap_seconds is refused (sanlock -EBUSY)
 * unless the caller asks to replace it.
 */
import { DeltaError } from './errors.js';

export interface OutgoingEvent {
  targetGeneration: bigint;
  event: bigint;
  data: bigint;
  /** Our clock seconds when it was set. */
  setAtSeconds: number;
}

/** The write_* fields of our delta sector. */
export interface EventFields {
  writeId: bigint;
  writeGeneration: bigint;
  writeTimestamp: bigint;
}

export class EventOutbox {
  private current: OutgoingEvent | undefined;

  get event(): OutgoingEvent | undefined {
    return this.current;
  }

  set(next: Omit<OutgoingEvent, 'setAtSeconds'>, nowSeconds: number, setBitmapSeconds: number, replace: boolean): void {
    const previous = this.current;
    const busy =
      previous !== undefined &&
      nowSeconds - previous.setAtSeconds < setBitmapSeconds &&
      (previous.targetGeneration !== next.targetGeneration ||
        previous.event !== next.event ||
        previous.data !== next.data);
    if (busy && !replace) {
      throw new DeltaError(
        'EVENT_BUSY',
        `event ${previous.event} (data ${previous.data}) is still being sent for ${setBitmapSeconds} s after it was set; ` +
          'wait, or replace it',
      );
    }
    this.current = { ...next, setAtSeconds: nowSeconds };
  }

  clear(): void {
    this.current = undefined;
  }

  /** §4 renew step 3: the current event, or 0,0,0 when there is none. */
  fields(): EventFields {
    const current = this.current;
    if (current === undefined) return { writeId: 0n, writeGeneration: 0n, writeTimestamp: 0n };
    return { writeId: current.targetGeneration, writeGeneration: current.event, writeTimestamp: current.data };
  }
}
