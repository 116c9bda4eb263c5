/** The activation backend leasehold.conf asks for (activation_backend), and where openers are found. */
import { noneBackend, type ActivationBackend } from '@leasehold/activation';
import type { ActivationBackendName } from '@leasehold/protocol';
import type { FindOpeners } from './activation-registry.js';

export function chooseBackend(name: ActivationBackendName | undefined): ActivationBackend {
  if (name === undefined || name === 'none') return noneBackend;
  return noneBackend;
}

export const findDeviceOpeners: FindOpeners = async () => [];
