/**
 * A watchdog device as the companion uses it: Linux's /dev/watchdog API (open arms it, any write is a
 * keepalive, 'V' written just before close disarms it, a close without it leaves the timer running
 * and counts as one last keepalive), plus the timeout ioctls.
 */
export interface WatchdogDevice {
  readonly path: string;
  /** What kind of device this is ('char' for a kernel device, 'test-socket' for the test device). */
  readonly kind: string;
  readonly isOpen: boolean;
  /** Opens the device, which arms it (or keeps it running). DEVICE_BUSY when another process holds it. */
  open(): Promise<void>;
  /** One keepalive: a write of one byte that is not 'V'. */
  keepalive(): void;
  /** WDIOC_SETTIMEOUT; resolves to the timeout the device now uses (which may differ). */
  setTimeout(seconds: number): Promise<number>;
  /** WDIOC_GETTIMEOUT. */
  getTimeout(): Promise<number>;
  /** WDIOC_GETTIMELEFT, or undefined where the device cannot tell. */
  getTimeLeft(): Promise<number | undefined>;
  /** Writes the magic 'V' and closes: the device stops. */
  closeMagic(): Promise<void>;
  /** Closes without the magic character: the device keeps counting and fires unless reopened and petted. */
  closeUnclean(): Promise<void>;
}

/** The byte of a keepalive write (anything but the magic character). */
export const KEEPALIVE_BYTE = 0x2e; // '.'
/** The magic close character. */
export const MAGIC_CLOSE_BYTE = 0x56; // 'V'
