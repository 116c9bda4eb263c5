/**
 * The resource leases one host holds in one lockspace, over one delta lease: acquire, release,
 * convert, and the request watch over exactly the leases held (§6 step 4 "every lease it holds").
 */
import { acquireLease, type AcquireOptions } from './acquire.js';
import { convertLease, type ConvertOptions } from './convert.js';
import { PaxosError, isPaxosError } from './errors.js';
import { releaseLease, type ReleaseOutcome } from './release.js';
import { setValueBlock } from './value-block.js';
import { RequestWatcher, type LeaseRequestNotice } from './request-watch.js';
import { describeLocation, type HeldLease, type LeaseMode, type PaxosContext, type ResourceLocation } from './types.js';

export class PaxosLeaseManager {
  private readonly leases = new Map<string, HeldLease>();

  constructor(readonly context: PaxosContext) {}

  /** The leases held now. */
  held(): HeldLease[] {
    return [...this.leases.values()];
  }

  lease(location: ResourceLocation): HeldLease | undefined {
    return this.leases.get(describeLocation(location));
  }

  async acquire(location: ResourceLocation, options: AcquireOptions = {}): Promise<HeldLease> {
    const key = describeLocation(location);
    if (this.leases.has(key)) {
      throw new PaxosError('INVALID_ARGUMENT', `${key} is already held by this host`, {
        spaceName: location.spaceName,
        resourceName: location.resourceName,
        offsetBytes: location.offsetBytes,
      });
    }
    const held = await acquireLease(this.context, location, options);
    this.leases.set(key, held);
    return held;
  }

  /** Releases and forgets the lease; on an error it stays registered so the release can be retried. */
  async release(location: ResourceLocation): Promise<ReleaseOutcome> {
    const held = this.required(location);
    const outcome = await releaseLease(this.context, held);
    this.leases.delete(describeLocation(location));
    return outcome;
  }

  async convert(location: ResourceLocation, to: LeaseMode, options: ConvertOptions = {}): Promise<HeldLease> {
    const held = this.required(location);
    try {
      const converted = await convertLease(this.context, held, to, options);
      this.leases.set(describeLocation(location), converted);
      return converted;
    } catch (error) {
      if (isPaxosError(error) && error.stillHeld !== undefined)
        this.leases.set(describeLocation(location), error.stillHeld);
      throw error;
    }
  }

  /** sanlock's set_lvb on a held lease: written when it is released exclusive (value-block.ts). */
  setValueBlock(location: ResourceLocation, data: Uint8Array): HeldLease {
    const updated = setValueBlock(this.required(location), data);
    this.leases.set(describeLocation(location), updated);
    return updated;
  }

  /** A watcher that checks the request record of our exclusive leases whenever a host pings us. */
  watchRequests(onRequest: (notice: LeaseRequestNotice) => void): RequestWatcher {
    const io = {
      disk: this.context.disk,
      delta: this.context.delta,
      ...(this.context.logger === undefined ? {} : { logger: this.context.logger }),
    };
    return new RequestWatcher(io, () => this.leases.values(), onRequest);
  }

  private required(location: ResourceLocation): HeldLease {
    const held = this.leases.get(describeLocation(location));
    if (held === undefined) {
      throw new PaxosError('NOT_HELD', `${describeLocation(location)} is not held by this host`, {
        spaceName: location.spaceName,
        resourceName: location.resourceName,
        offsetBytes: location.offsetBytes,
      });
    }
    return held;
  }
}
