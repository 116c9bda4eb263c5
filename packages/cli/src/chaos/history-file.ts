/** Appending to and reading the chaos run's history files (one JSON-lines file per writer, one for the harness). */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatEvent, parseHistory, type HistoryEvent } from './history.js';

export const HISTORY_SUFFIX = '.jsonl';

/** CLOCK_MONOTONIC ns (process.hrtime is CLOCK_MONOTONIC on Linux; every emulated host shares it). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * Appends one event with a single write(2) on an O_APPEND descriptor, before the caller goes on:
 * a write-start is in the history before the write is issued, so a killed writer leaves no
 * record the history does not explain.
 */
export function appendEvent(path: string, event: HistoryEvent): void {
  appendFileSync(path, formatEvent(event) + '\n');
}

/** Every event of every history file in `dir`. */
export function readHistoryDir(dir: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(HISTORY_SUFFIX)) continue;
    const path = join(dir, name);
    for (const event of parseHistory(readFileSync(path, 'utf8'), path)) events.push(event);
  }
  return events;
}
