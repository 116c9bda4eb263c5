/**
 * "Waiting that tells": while a command waits for a lease (run --wait, direct run --wait), say what
 * it waits for. On a terminal one status line is kept up to date (holder, mode, liveness, seconds
 * waited); otherwise one line is printed when the wait starts, so logs are not flooded.
 */

export interface HolderFacts {
  hostId?: number | undefined;
  hostName?: string | undefined;
  mode?: string | undefined;
  state?: string | undefined;
  /** A holder on this host (a process), as the daemon describes it. */
  local?: string | undefined;
}

const MODE_TEXT: Record<string, string> = { exclusive: 'EX', shared: 'SH', EX: 'EX', SH: 'SH' };
/** What each host state says about renewals (lease layer's host table). */
const LIVENESS_TEXT: Record<string, string> = {
  LIVE: ' (renewing)',
  UNKNOWN: ' (not watched long enough to tell)',
  FAIL: ' (not renewing)',
  DEAD: ' (dead: its lease can be taken)',
};

/** 'host 2 "node-b" EX, LIVE (renewing)' */
export function holderText(holder: HolderFacts): string {
  if (holder.local !== undefined) return `${holder.local} on this host`;
  const parts = [holder.hostId === undefined ? 'a host' : `host ${holder.hostId}`];
  if (holder.hostName !== undefined && holder.hostName !== '') parts.push(JSON.stringify(holder.hostName));
  if (holder.mode !== undefined) parts.push(MODE_TEXT[holder.mode] ?? holder.mode);
  const liveness = holder.state === undefined ? '' : `, ${holder.state}${LIVENESS_TEXT[holder.state] ?? ''}`;
  return parts.join(' ') + liveness;
}

/** The holders an error's details name (the lease layer's `holders`, or the daemon's local `holder`). */
export function holdersOf(details: Record<string, unknown> | undefined): HolderFacts[] {
  if (details === undefined) return [];
  if (typeof details['holder'] === 'string') return [{ local: details['holder'] }];
  const holders = details['holders'];
  if (!Array.isArray(holders)) return [];
  return holders.map((value: unknown) => {
    const h = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    return {
      hostId: typeof h['hostId'] === 'number' ? h['hostId'] : undefined,
      hostName: typeof h['hostName'] === 'string' ? h['hostName'] : undefined,
      mode: typeof h['mode'] === 'string' ? h['mode'] : undefined,
      state: typeof h['state'] === 'string' ? h['state'] : undefined,
    };
  });
}

export interface WaitingLine {
  show(text: string, waitedSeconds: number, waitSeconds: number): void;
  done(): void;
}

/** Where the line goes: stderr, or anything with write() and isTTY (tests). */
export interface LineStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export function waitingLine(stream: LineStream = process.stderr): WaitingLine {
  const tty = stream.isTTY === true;
  let shown = false;
  return {
    show(text, waitedSeconds, waitSeconds) {
      if (tty) {
        stream.write(`\r\x1b[Kleasehold: ${text} ... ${Math.round(waitedSeconds)}/${Math.round(waitSeconds)} s`);
        shown = true;
      } else if (!shown) {
        stream.write(`leasehold: ${text}; waiting up to ${Math.round(waitSeconds)} s\n`);
        shown = true;
      }
    },
    done() {
      if (tty && shown) stream.write('\r\x1b[K');
    },
  };
}
