/**
 * The kill plan after a lease loss (or for holders of an older generation found after a restart):
 * every holder gets 'term' at once, 'term' again every second during the grace period (sanlock's
 * SIGTERM rounds; a kill command runs only once), and 'kill' after the grace period, repeated until
 * it is reported gone. Persistent holders (the daemon's own leases, e.g. active LVs) are stopped by the kill command
 * once; an admin's lockstop says they are stopped. The lockspace counts as clean when nobody is left.
 */
import { assert } from './assert.js';
import { holderKey, type Holder } from './types.js';

/** Between rounds of 'term' (during the grace period) and of 'kill' (after it) for holders that are still there. */
export const KILL_REPEAT_SECONDS = 1;

export interface Campaign {
  pending: Map<string, Holder>;
  startedAtSeconds: number;
  graceSeconds: number;
  /** Local time of the next round: 'term' again before the grace period ends, 'kill' after. */
  nextKillAtSeconds: number;
}

export class KillCampaigns {
  private readonly campaigns = new Map<string, Campaign>();

  /** Starts or extends the campaign against `holders`; returns those not already targeted. */
  start(name: string, holders: Holder[], nowSeconds: number, graceSeconds: number): Holder[] {
    let campaign = this.campaigns.get(name);
    if (campaign === undefined) {
      campaign = {
        pending: new Map(),
        startedAtSeconds: nowSeconds,
        graceSeconds,
        nextKillAtSeconds: nowSeconds + Math.min(graceSeconds, KILL_REPEAT_SECONDS),
      };
      this.campaigns.set(name, campaign);
    }
    const added: Holder[] = [];
    for (const holder of holders) {
      const key = holderKey(holder);
      if (campaign.pending.has(key)) continue;
      campaign.pending.set(key, holder);
      added.push(holder);
    }
    return added;
  }

  pendingCount(name: string): number {
    return this.campaigns.get(name)?.pending.size ?? 0;
  }

  pendingOf(name: string): Holder[] {
    return [...(this.campaigns.get(name)?.pending.values() ?? [])];
  }

  has(name: string): boolean {
    return this.campaigns.has(name);
  }

  names(): string[] {
    return [...this.campaigns.keys()];
  }

  /** A holder is gone; true when that left the campaign empty (it is then ended). */
  gone(name: string, holder: Holder): boolean {
    const campaign = this.campaigns.get(name);
    if (campaign === undefined || !campaign.pending.delete(holderKey(holder))) return false;
    return this.endIfClean(name);
  }

  /** The admin says the persistent users are stopped. True when that left the campaign clean. */
  dropPersistent(name: string): boolean {
    const campaign = this.campaigns.get(name);
    if (campaign === undefined) return false;
    campaign.pending.delete('persistent');
    return this.endIfClean(name);
  }

  /**
   * Campaigns whose holders are due another round at `nowSeconds` ('term' again within the grace
   * period, 'kill' after it); each is rescheduled, and the first 'kill' comes exactly at the end of
   * the grace period.
   */
  dueKills(nowSeconds: number): Array<{ name: string; holders: Holder[]; signal: 'term' | 'kill' }> {
    const due: Array<{ name: string; holders: Holder[]; signal: 'term' | 'kill' }> = [];
    for (const [name, campaign] of this.campaigns) {
      if (nowSeconds < campaign.nextKillAtSeconds) continue;
      const graceEndsAtSeconds = campaign.startedAtSeconds + campaign.graceSeconds;
      const pastGrace = nowSeconds >= graceEndsAtSeconds;
      campaign.nextKillAtSeconds = pastGrace
        ? nowSeconds + KILL_REPEAT_SECONDS
        : Math.min(nowSeconds + KILL_REPEAT_SECONDS, graceEndsAtSeconds);
      const processes = [...campaign.pending.values()].filter((holder) => holder.kind === 'process');
      if (processes.length > 0) due.push({ name, holders: processes, signal: pastGrace ? 'kill' : 'term' });
    }
    return due;
  }

  nextWakeSeconds(): number | undefined {
    let next: number | undefined;
    for (const campaign of this.campaigns.values())
      next = next === undefined ? campaign.nextKillAtSeconds : Math.min(next, campaign.nextKillAtSeconds);
    return next;
  }

  private endIfClean(name: string): boolean {
    const campaign = this.campaigns.get(name);
    assert(campaign !== undefined, `campaign of ${name} exists`);
    if (campaign.pending.size > 0) return false;
    this.campaigns.delete(name);
    return true;
  }
}
