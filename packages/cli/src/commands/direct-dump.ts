/** `leasehold direct dump PATH[:OFFSET[:SIZE]] [--json]`: lease areas found on a device, like sanlock's dump. */
import type { CommandModule } from 'yargs';
import { parseLocationArg } from '../args.js';
import { CliError } from '../cli-error.js';
import { openDevice } from '../device.js';
import { scanDevice, type DumpLeaderRow } from '../dump-scan.js';
import { printJson, printLine } from '../output.js';

/** Without SIZE, scan at most this much (a LUN can be terabytes). */
export const DEFAULT_DUMP_SIZE_BYTES = 1024 * 1024 * 1024;

interface DumpArgs {
  location: string;
  json: boolean;
}

const pad = (value: string | number | bigint, width: number): string => String(value).padStart(width);
const zero = (value: bigint | number, width: number): string => String(value).padStart(width, '0');

export function formatDumpTable(rows: DumpLeaderRow[]): string[] {
  const lines = [
    `${pad('offset', 8)} ${pad('lockspace', 48)} ${pad('resource', 48)} ${pad('timestamp', 10)} ${pad('own', 4)} ${pad('gen', 4)} lver/req/mode`,
  ];
  for (const row of rows) {
    const req = row.request ? `${row.request.lver}/${row.request.forceMode}` : '-';
    const kindNote = row.kind === 'cleared' ? ' CLEARED' : row.checksumOk ? '' : ' BAD_CHECKSUM';
    const tail =
      row.kind === 'delta'
        ? `io ${row.ioTimeoutSeconds}${row.bitmapHostIds?.length ? ` bits ${row.bitmapHostIds.join(',')}` : ''}`
        : `${row.lver}/${req}`;
    lines.push(
      `${zero(row.offsetBytes, 8)} ${pad(row.spaceName, 48)} ${pad(row.resourceName, 48)} ${zero(row.timestamp, 10)} ${zero(row.ownerId, 4)} ${zero(row.ownerGeneration, 4)} ${tail}${kindNote}`,
    );
    for (const d of row.dblocks ?? []) {
      const mode = d.shared ? ` SH gen ${d.sharedGeneration}` : '';
      const flags = d.released ? ' RELEASED' : '';
      lines.push(
        `${' '.repeat(9)}host ${pad(d.hostId, 4)} mbal ${d.mbal} bal ${d.bal} inp ${d.inp}:${d.inp2}:${d.inp3} lver ${d.lver}${flags}${mode}${d.checksumOk ? '' : ' BAD_CHECKSUM'}`,
      );
    }
  }
  return lines;
}

export const directDumpCommand: CommandModule<object, DumpArgs> = {
  command: 'dump <location>',
  describe: 'list the lease areas found at PATH[:OFFSET[:SIZE]]',
  builder: (y) =>
    y
      .positional('location', { type: 'string', demandOption: true, describe: 'PATH[:OFFSET[:SIZE]]' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (argv) => {
    const location = parseLocationArg(argv.location);
    const disk = await openDevice(location.path, { write: false });
    try {
      const start = location.offsetBytes ?? 0;
      if (start >= disk.sizeBytes) {
        throw new CliError('BAD_OFFSET', `offset ${start} is past the end of ${disk.path} (${disk.sizeBytes} bytes)`);
      }
      const end = Math.min(disk.sizeBytes, start + (location.sizeBytes ?? DEFAULT_DUMP_SIZE_BYTES));
      const rows = await scanDevice(disk, start, end);
      if (argv.json) printJson({ path: disk.path, startBytes: start, endBytes: end, areas: rows });
      else for (const line of formatDumpTable(rows)) printLine(line);
    } finally {
      await disk.close();
    }
  },
};
