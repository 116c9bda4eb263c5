/**
 * Learns that client processes exited, without pid-reuse races: each watched process has a pidfd
 * (pidfd_open), which becomes readable when the process exits, whoever else still holds its socket.
 * A socket close is not enough (a forked child may keep the socket open after its parent died), and
 * kill(pid, 0) is fooled by zombies and reused pids.
 *
 * The pidfds are polled from the event loop with a zero timeout every PROCESS_POLL_INTERVAL_MS (a
 * poll(2) of one fd costs about a microsecond), so an exit is noticed within that interval even when
 * no socket event announces it. Callers may also ask for an immediate check (on socket close).
 */
import { closeSync } from 'node:fs';
import { pidfdOpen, pollReadable } from '@leasehold/native';
import { isSameProcessAlive } from './proc.js';

/** How often pidfds are polled. Leases of a SIGKILLed client must be released within a second. */
export const PROCESS_POLL_INTERVAL_MS = 100;

export type ExitHandler = (pid: number) => void;

interface Watched {
  pid: number;
  pidfd: number;
  /** The start time (from /proc) of the process the pidfd refers to, when the watcher knew it. */
  startTime: bigint | undefined;
  handlers: Set<ExitHandler>;
}

export class ProcessWatch {
  private readonly watched = new Map<number, Watched>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * Starts watching `pid` (idempotent). Returns false if the process is already gone (pidfd_open
   * failed with ESRCH), in which case `onExit` is not called.
   */
  watch(pid: number, onExit: ExitHandler): boolean {
    let entry = this.watched.get(pid);
    if (entry === undefined) {
      let pidfd: number;
      try {
        pidfd = pidfdOpen(pid);
      } catch {
        return false;
      }
      entry = { pid, pidfd, startTime: undefined, handlers: new Set() };
      this.watched.set(pid, entry);
      this.ensureTimer();
    }
    entry.handlers.add(onExit);
    return true;
  }

  /**
   * Starts watching one incarnation of `pid` (pid + start time). Returns false when that process is
   * not running. A process already watched with the same start time is known alive from its pidfd
   * alone (a poll, no /proc read): the pidfd was opened for exactly that process, and a client's
   * connection keeps it open, so its repeated acquires cost no file reads.
   */
  watchIncarnation(pid: number, startTime: bigint, onExit: ExitHandler): boolean {
    const entry = this.watched.get(pid);
    if (entry !== undefined && entry.startTime === startTime) {
      if (pollReadable(entry.pidfd, 0)) return false; // it exited: the next check reports it
      entry.handlers.add(onExit);
      return true;
    }
    // A watched older incarnation of the pid that has exited (the pid was reused) is reported and
    // forgotten first, so that the new process gets its own pidfd.
    if (entry !== undefined && entry.startTime !== undefined && pollReadable(entry.pidfd, 0)) this.check();
    if (!this.watch(pid, onExit)) return false;
    // Checked after the pidfd exists: while its process lives it owns the pid, so /proc then shows
    // that very process. A pidfd is labelled with a start time only once it is known to be its own.
    const watched = this.watched.get(pid);
    if (
      watched !== undefined &&
      (watched.startTime ?? startTime) === startTime &&
      isSameProcessAlive(pid, startTime) &&
      !pollReadable(watched.pidfd, 0)
    ) {
      watched.startTime = startTime;
      return true;
    }
    this.unwatch(pid, onExit);
    return false;
  }

  unwatch(pid: number, onExit: ExitHandler): void {
    const entry = this.watched.get(pid);
    if (entry === undefined) return;
    entry.handlers.delete(onExit);
    if (entry.handlers.size === 0) this.forget(entry);
  }

  /** True while the process is being watched and has not exited. */
  isAlive(pid: number): boolean {
    const entry = this.watched.get(pid);
    return entry !== undefined && !pollReadable(entry.pidfd, 0);
  }

  /** Polls every watched pidfd now and reports exits. */
  check(): void {
    for (const entry of [...this.watched.values()]) {
      if (!pollReadable(entry.pidfd, 0)) continue;
      this.forget(entry);
      for (const handler of entry.handlers) handler(entry.pid);
    }
  }

  close(): void {
    for (const entry of [...this.watched.values()]) this.forget(entry);
  }

  private forget(entry: Watched): void {
    this.watched.delete(entry.pid);
    try {
      closeSync(entry.pidfd);
    } catch {
      // already closed
    }
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private ensureTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.check(), PROCESS_POLL_INTERVAL_MS);
    this.timer.unref();
  }
}
