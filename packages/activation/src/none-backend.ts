/** The none backend: the lease only, no device (lvm with activation disabled). */
import type { ActiveDevice, LvMapping } from '@leasehold/protocol';
import type { ActivationBackend } from './backend.js';

function noDevice(mapping: LvMapping): ActiveDevice {
  return {
    backend: 'none',
    devicePath: null,
    linkPath: null,
    major: null,
    minor: null,
    sizeSectors: mapping.sizeSectors,
  };
}

export const noneBackend: ActivationBackend = {
  name: 'none',
  activate: async (mapping) => noDevice(mapping),
  deactivate: async () => {},
  refresh: async (_device, mapping) => noDevice(mapping),
  verify: async () => true,
};
