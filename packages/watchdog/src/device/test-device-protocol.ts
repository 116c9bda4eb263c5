/**
 * The byte protocol of the test watchdog device, a Unix socket that stands in for /dev/watchdog:
 *
 *   connect            = open(2). The device answers one line: "OK open", or "ERR EBUSY ..." (and
 *                        closes) when another connection holds it, as the kernel allows one opener.
 *   any byte but ESC   = a write(2) of that byte: a keepalive. A 'V' arms the magic close; any other
 *                        byte disarms it again (the kernel looks at the last write).
 *   ESC line '\n'      = an ioctl: "SETTIMEOUT <s>", "GETTIMEOUT", "GETTIMELEFT", "KEEPALIVE". Answered
 *                        by one line, "OK <n>" or "ERR <ERRNO> <message>". SETTIMEOUT also pings.
 *   close              = close(2): after a final 'V' the device stops; otherwise it keeps counting
 *                        (and, as the kernel does, the close counts as one last keepalive).
 */
export const ESCAPE_BYTE = 0x1b;
export const NEWLINE_BYTE = 0x0a;

export type DeviceIoctl = 'SETTIMEOUT' | 'GETTIMEOUT' | 'GETTIMELEFT' | 'KEEPALIVE';

/** Longest ioctl line the device accepts. */
export const MAX_IOCTL_LINE_BYTES = 64;
/** Longest reply line the client accepts. */
export const MAX_REPLY_LINE_BYTES = 256;

export function encodeIoctl(ioctl: DeviceIoctl, value?: number): Buffer {
  return Buffer.from(`\x1b${ioctl}${value === undefined ? '' : ` ${value}`}\n`, 'latin1');
}

export type DeviceReply =
  | { ok: true; value: number | undefined; text: string }
  | { ok: false; errno: string; message: string };

export function parseDeviceReply(line: string): DeviceReply {
  if (line.startsWith('OK')) {
    const text = line.slice(2).trim();
    const value = /^-?\d+$/.test(text) ? Number(text) : undefined;
    return { ok: true, value, text };
  }
  const match = /^ERR (\S+) ?(.*)$/.exec(line);
  return match === null
    ? { ok: false, errno: 'EPROTO', message: `bad reply "${line.slice(0, 80)}"` }
    : { ok: false, errno: match[1]!, message: match[2] ?? '' };
}
