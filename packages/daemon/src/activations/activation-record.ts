/** One LV activation as the registry keeps it, its state-db row, and its wire form. */
import type { ActivationInfo, ActivationLoss, ActiveDevice, LeaseMode, LvMapping } from '@leasehold/protocol';
import type { StoredActivation } from '../state/state-db.js';

export interface ActivationRecord {
  key: string;
  lockspace: string;
  resource: string;
  path: string;
  offsetBytes: number;
  mode: LeaseMode;
  mapping: LvMapping;
  /** null until the backend made the device (state 'activating'). */
  device: ActiveDevice | null;
  state: 'activating' | 'active';
  vgSeqno: number | null;
  activatedAt: string;
  origin: 'activated' | 'adopted';
  /** Read from state after a restart, not yet confirmed by its lockspace's adoption. */
  pendingAdoption: boolean;
  /** Set when its lockspace was lost. */
  loss: ActivationLoss | undefined;
}

export function activationKey(lockspace: string, resource: string): string {
  return `${lockspace}\0${resource}`;
}

export function toStored(record: ActivationRecord): StoredActivation {
  return {
    lockspace: record.lockspace,
    resource: record.resource,
    path: record.path,
    offsetBytes: record.offsetBytes,
    mode: record.mode,
    state: record.state,
    mapping: JSON.stringify(record.mapping),
    device: record.device === null ? null : JSON.stringify(record.device),
    vgSeqno: record.vgSeqno,
    activatedAt: record.activatedAt,
  };
}

export function fromStored(row: StoredActivation): ActivationRecord {
  return {
    key: activationKey(row.lockspace, row.resource),
    lockspace: row.lockspace,
    resource: row.resource,
    path: row.path,
    offsetBytes: row.offsetBytes,
    mode: row.mode,
    mapping: JSON.parse(row.mapping) as LvMapping,
    device: row.device === null ? null : (JSON.parse(row.device) as ActiveDevice),
    state: row.state,
    vgSeqno: row.vgSeqno,
    activatedAt: row.activatedAt,
    origin: 'adopted',
    pendingAdoption: true,
    loss: undefined,
  };
}

/** The device a record reports; the none backend's (no device) until the backend answered. */
function deviceOf(record: ActivationRecord): ActiveDevice {
  return (
    record.device ?? {
      backend: 'none',
      devicePath: null,
      linkPath: null,
      major: null,
      minor: null,
      sizeSectors: record.mapping.sizeSectors,
    }
  );
}

export function toInfo(record: ActivationRecord): ActivationInfo {
  return {
    lockspace: record.lockspace,
    resource: record.resource,
    path: record.path,
    offsetBytes: record.offsetBytes,
    vgName: record.mapping.vgName,
    lvName: record.mapping.lvName,
    mode: record.mode,
    device: deviceOf(record),
    activatedAt: record.activatedAt,
    mappingSeqno: record.vgSeqno,
    origin: record.origin,
    ...(record.loss === undefined ? {} : { loss: { ...record.loss, killedPids: [...record.loss.killedPids] } }),
  };
}

/** "vg/lv" for messages and logs. */
export function lvText(record: Pick<ActivationRecord, 'mapping'>): string {
  return `${record.mapping.vgName}/${record.mapping.lvName}`;
}
