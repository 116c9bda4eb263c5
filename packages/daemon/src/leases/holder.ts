/** Who holds a lease on this host: a client process (pid + start time) or the daemon itself. */
export type Holder = { kind: 'process'; pid: number; startTime: bigint; uid: number } | { kind: 'persistent' };

export function holderKey(holder: Holder): string {
  return holder.kind === 'persistent' ? 'persistent' : `pid:${holder.pid}:${holder.startTime}`;
}

export function sameHolder(a: Holder, b: Holder): boolean {
  return holderKey(a) === holderKey(b);
}

export function describeHolderText(holder: Holder): string {
  return holder.kind === 'persistent' ? 'the daemon (persistent)' : `pid ${holder.pid}`;
}
