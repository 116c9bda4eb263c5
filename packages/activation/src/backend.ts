/**
 * What every activation backend does. The daemon owns activations (it holds their leases, deactivates
 * on lease loss, refreshes on a shared extend), so backends run in the daemon's process; the commands
 * only compute the LvMapping from their VG metadata.
 */
import type { ActivationBackendName, ActiveDevice, LvMapping } from '@leasehold/protocol';

export interface BackendOptions {
  /** Where `<vg>/<lv>` links go (leasehold.conf device_dir, default /dev). */
  deviceDir: string;
}

export interface ActivationBackend {
  readonly name: ActivationBackendName;
  /** Makes the LV's block device and its link; idempotent when the same mapping is already active. */
  activate(mapping: LvMapping, options: BackendOptions): Promise<ActiveDevice>;
  /** Removes the device and its link. The caller has checked that nobody has it open. */
  deactivate(
    device: ActiveDevice,
    mapping: Pick<LvMapping, 'vgName' | 'lvName'>,
    options: BackendOptions,
  ): Promise<void>;
  /** Makes an active device follow a changed mapping (dm: suspend, reload, resume; loop: set-capacity). */
  refresh(device: ActiveDevice, mapping: LvMapping, options: BackendOptions): Promise<ActiveDevice>;
  /** After a daemon restart: is this device still there and still mapping this LV? */
  verify(device: ActiveDevice, mapping: LvMapping, options: BackendOptions): Promise<boolean>;
}
