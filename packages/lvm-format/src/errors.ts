/** Errors of the LVM2 format codecs: values with stable codes. */
export type LvmFormatErrorCode =
  | 'BAD_LABEL' // label sector or pv_header unusable
  | 'BAD_MDA_HEADER' // mda_header checksum, magic, version or start wrong
  | 'BAD_CHECKSUM' // metadata text checksum wrong
  | 'PARSE_ERROR' // metadata text is not valid config syntax
  | 'BAD_METADATA' // valid syntax, but not a valid VG (missing keys, bad segments, ...)
  | 'BAD_UUID'
  | 'BAD_NAME'
  | 'MDA_FULL' // metadata text larger than the circular buffer allows
  | 'BAD_LAYOUT'; // pvcreate geometry that does not fit the device

export class LvmFormatError extends Error {
  override readonly name = 'LvmFormatError';
  constructor(
    readonly code: LvmFormatErrorCode,
    message: string,
  ) {
    super(message);
  }
}
