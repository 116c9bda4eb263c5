/**
 * The `key = value` format of leasehold.conf and host-id.conf: one setting per line, '#' starts a
 * comment line, blank lines ignored, whitespace around key and value ignored.
 */
import { DaemonError } from '@leasehold/protocol';

export interface KvEntry {
  key: string;
  value: string;
  line: number;
}

export function parseKvText(text: string, sourceName: string): KvEntry[] {
  const entries: KvEntry[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const equals = raw.indexOf('=');
    if (equals <= 0) {
      throw new DaemonError(
        'BAD_CONFIG',
        `${sourceName}:${index + 1}: expected "key = value", got "${raw.slice(0, 80)}"`,
      );
    }
    entries.push({ key: raw.slice(0, equals).trim(), value: raw.slice(equals + 1).trim(), line: index + 1 });
  }
  return entries;
}
