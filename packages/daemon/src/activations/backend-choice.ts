/** The activation backend leasehold.conf asks for (activation_backend), and where openers are found. */
import { createBackend, defaultBackendName, findOpeners, type ActivationBackend } from '@leasehold/activation';
import type { ActivationBackendName } from '@leasehold/protocol';
import type { FindOpeners } from './activation-registry.js';

/** The configured backend; by default dm where device-mapper is there, else loop (issue 13). */
export function chooseBackend(name: ActivationBackendName | undefined): ActivationBackend {
  return createBackend(name ?? defaultBackendName());
}

export const findDeviceOpeners: FindOpeners = (devices) => findOpeners(devices);
