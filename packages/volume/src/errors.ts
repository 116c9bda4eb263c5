/** Errors of the volume layer: values with stable codes, messages in lvm's wording where lvm has one. */
export type VolumeErrorCode =
  | 'VG_NOT_FOUND'
  | 'VG_EXISTS'
  | 'LV_NOT_FOUND'
  | 'LV_EXISTS'
  | 'PV_NOT_FOUND' // a device named on the command line is not a PV (or not in the VG)
  | 'PV_IN_USE' // the PV belongs to a VG
  | 'NOT_A_PV'
  | 'INSUFFICIENT_FREE_EXTENTS'
  | 'MDA_FULL'
  | 'METADATA_DAMAGED'
  | 'DUPLICATE_PV'
  | 'MISSING_PV'
  | 'BAD_NAME'
  | 'BAD_ARGUMENT'
  | 'NO_METADATA_AREAS'
  | 'DEVICE_TOO_SMALL'
  | 'DEVICE_OPEN' // a device could not be opened
  | 'IO_ERROR'
  | 'LOCK_TIMEOUT' // another command holds the VG's file lock
  | 'SHARED_VG' // the VG has a lock_type that needs lockstart / lvmlockd
  | 'BAD_CONFIG';

export class VolumeError extends Error {
  override readonly name = 'VolumeError';
  constructor(
    readonly code: VolumeErrorCode,
    message: string,
    /** The device the error is about, when there is one. */
    readonly device?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
