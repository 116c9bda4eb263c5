/** Linux dev_t encoding (glibc's gnu_dev_major/gnu_dev_minor); no native code, so pure modules may use it. */
export function splitDeviceNumber(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}
