/** Errors of the activation backends: values with stable codes (all in @leasehold/errors' catalogue). */
export type ActivationErrorCode =
  /** The loop backend maps one run of sectors only; the LV has several. */
  | 'LV_MULTI_SEGMENT'
  /** A backend tool (losetup, dmsetup) or system call failed; the message carries its words. */
  | 'ACTIVATION_FAILED'
  /** The device is still open (mounted, or held by another device) and cannot be removed. */
  | 'ACTIVATION_BUSY'
  /** No LV of that name in the VG. */
  | 'LV_NOT_FOUND'
  /** The LV's segments are of a kind activation does not map (striped over several PVs, stacked, raid...). */
  | 'UNSUPPORTED'
  /** The metadata puts an LV's extents outside its PV, or names a PV it does not have. */
  | 'BAD_METADATA'
  /** The dm name would be longer than device-mapper allows. */
  | 'BAD_NAME';

export class ActivationError extends Error {
  override readonly name = 'ActivationError';
  constructor(
    readonly code: ActivationErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
