/** One thing that will happen at a moment of global virtual time. */
export interface SimEvent {
  readonly timeSeconds: number;
  /** Orders events due at the same moment; drawn at random unless a chooser decides instead. */
  readonly tieKey: number;
  /** Insertion order: the last tie-breaker, so the order is total and deterministic. */
  readonly sequence: number;
  /** For traces and for fast-check scheduler labels. */
  readonly label: string;
  readonly action: () => void;
  cancelled: boolean;
}

function before(x: SimEvent, y: SimEvent): boolean {
  if (x.timeSeconds !== y.timeSeconds) return x.timeSeconds < y.timeSeconds;
  if (x.tieKey !== y.tieKey) return x.tieKey < y.tieKey;
  return x.sequence < y.sequence;
}

/** A binary min-heap of events. Cancelled events stay in the heap and are skipped when they surface. */
export class EventQueue {
  private readonly heap: SimEvent[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentEvent = heap[parent] as SimEvent;
      if (!before(event, parentEvent)) break;
      heap[index] = parentEvent;
      index = parent;
    }
    heap[index] = event;
  }

  /** The earliest live event, without removing it. */
  peek(): SimEvent | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  /** Removes and returns the earliest live event. */
  pop(): SimEvent | undefined {
    this.dropCancelled();
    return this.removeTop();
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && (this.heap[0] as SimEvent).cancelled) this.removeTop();
  }

  private removeTop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      let smallestEvent = last;
      if (left < heap.length && before(heap[left] as SimEvent, smallestEvent)) {
        smallest = left;
        smallestEvent = heap[left] as SimEvent;
      }
      if (right < heap.length && before(heap[right] as SimEvent, smallestEvent)) {
        smallest = right;
        smallestEvent = heap[right] as SimEvent;
      }
      if (smallest === index) break;
      heap[index] = smallestEvent;
      index = smallest;
    }
    heap[index] = last;
    return top;
  }
}
