/**
 * The wdmd-style marker: a file on a tmpfs (/dev/shm, cleared by every reboot) that exists exactly
 * while a companion runs. Found at start-up with its owner gone, it means the previous companion
 * died without disarming the device and the host has not been reset since, so the device may still
 * be counting down to a reset that must happen: a new companion would open (= pet) the device and
 * postpone it. The companion then refuses to start until the host is reset or an operator, who
 * knows that nothing uses a lease here, clears the marker.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { WatchdogError } from '../errors.js';

export const DEFAULT_MARKER_PATH = '/dev/shm/leasehold-watchdog';

export interface MarkerContent {
  pid: number;
  startedAt: string;
  device: string;
  socket: string;
}

export type MarkerStatus =
  | { status: 'absent' }
  | { status: 'running'; content: MarkerContent }
  | { status: 'stale'; content: MarkerContent | undefined };

function isCompanionProcess(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('watchdog');
  } catch {
    return false;
  }
}

function parseContent(text: string): MarkerContent | undefined {
  try {
    const value = JSON.parse(text) as Partial<MarkerContent>;
    if (typeof value.pid !== 'number') return undefined;
    return {
      pid: value.pid,
      startedAt: String(value.startedAt ?? ''),
      device: String(value.device ?? ''),
      socket: String(value.socket ?? ''),
    };
  } catch {
    return undefined;
  }
}

export function readMarker(path: string): MarkerStatus {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'absent' };
    throw new WatchdogError('DEVICE_ERROR', `cannot read the marker ${path}: ${(error as Error).message}`);
  }
  const content = parseContent(text);
  if (content !== undefined && content.pid !== process.pid && isCompanionProcess(content.pid))
    return { status: 'running', content };
  return { status: 'stale', content };
}

/** Refuses (ALREADY_RUNNING / UNCLEAN_EXIT) unless no marker exists. */
export function requireNoMarker(path: string): void {
  const marker = readMarker(path);
  if (marker.status === 'running') {
    throw new WatchdogError(
      'ALREADY_RUNNING',
      `a watchdog companion (pid ${marker.content.pid}) is already running (marker ${path})`,
    );
  }
  if (marker.status === 'stale') {
    const who =
      marker.content === undefined
        ? 'a previous companion'
        : `the previous companion (pid ${marker.content.pid}, started ${marker.content.startedAt})`;
    throw new WatchdogError(
      'UNCLEAN_EXIT',
      `${who} exited without disarming the watchdog and this host has not been reset since (marker ${path}). ` +
        'Its watchdog may still be counting down to a reset that must happen; starting now could postpone it. ' +
        'Reset the host, or, once you know no lease is in use here or the lock daemon is running and will register again, ' +
        'clear the marker with `leasehold watchdog --clear-marker` and start again',
    );
  }
}

export function createMarker(path: string, content: MarkerContent): void {
  try {
    writeFileSync(path, JSON.stringify(content) + '\n', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new WatchdogError('ALREADY_RUNNING', `another companion created ${path} meanwhile`);
    throw new WatchdogError('DEVICE_ERROR', `cannot create the marker ${path}: ${(error as Error).message}`);
  }
}

export function removeMarker(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** The operator's override: removes a stale marker (never one whose companion still runs). */
export function clearMarker(path: string): MarkerStatus {
  const marker = readMarker(path);
  if (marker.status === 'running') {
    throw new WatchdogError(
      'ALREADY_RUNNING',
      `the companion in ${path} (pid ${marker.content.pid}) is running; stop it instead`,
    );
  }
  if (marker.status === 'stale') removeMarker(path);
  return marker;
}
