/** One line of a host's recent history, kept for failure reports. */
export interface TraceLine {
  timeSeconds: number;
  /** Incarnation label such as "h2#1", or "world". */
  who: string;
  text: string;
}

/** Text, or a function that makes it: formatting is deferred until a trace is printed. */
export type TraceText = string | (() => string);

interface StoredLine {
  timeSeconds: number;
  who: string;
  text: TraceText;
}

/** How many recent lines each participant keeps: enough to see the last few renewals of a host. */
export const DEFAULT_TRACE_DEPTH = 120;

/**
 * Recent events per participant (a ring each), merged by time when printed. Cheap enough to stay on
 * in every run, so any failing seed comes with its story.
 */
export class Trace {
  private readonly rings = new Map<string, StoredLine[]>();

  constructor(private readonly depth = DEFAULT_TRACE_DEPTH) {}

  note(who: string, timeSeconds: number, text: TraceText): void {
    let ring = this.rings.get(who);
    if (ring === undefined) {
      ring = [];
      this.rings.set(who, ring);
    }
    ring.push({ timeSeconds, who, text });
    // Trim in batches: shifting one element per note would make long runs quadratic.
    if (ring.length > 2 * this.depth) ring.splice(0, ring.length - this.depth);
  }

  /** The last `depth` lines of each participant (optionally only some), merged in time order. */
  lines(who?: readonly string[]): TraceLine[] {
    const chosen: TraceLine[] = [];
    for (const [name, ring] of this.rings) {
      if (who !== undefined && !who.some((prefix) => name === prefix || name.startsWith(`${prefix}#`))) continue;
      for (const line of ring.slice(-this.depth)) {
        chosen.push({
          timeSeconds: line.timeSeconds,
          who: line.who,
          text: typeof line.text === 'string' ? line.text : line.text(),
        });
      }
    }
    // Stable sort keeps each participant's own order for equal times.
    return chosen.sort((x, y) => x.timeSeconds - y.timeSeconds);
  }

  format(who?: readonly string[]): string {
    return this.lines(who)
      .map((line) => `${formatSeconds(line.timeSeconds).padStart(11)}  ${line.who.padEnd(7)} ${line.text}`)
      .join('\n');
  }
}

export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(3)}s`;
}
