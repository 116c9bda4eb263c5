/**
 * Entry point of the test watchdog device process:
 *   node test-device-main.js --socket PATH --control PATH --timeout S --host-file PATH --events PATH
 * It stays until SIGTERM. It must be started outside the emulated host it resets.
 */
import { WatchdogError } from '../../errors.js';
import { runTestDevice } from './test-device-server.js';

const FLAGS = ['--socket', '--control', '--timeout', '--host-file', '--events'] as const;

function parseArgs(argv: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!(FLAGS as readonly string[]).includes(flag) || value === undefined)
      throw new WatchdogError('BAD_ARGUMENT', `usage: test-device-main ${FLAGS.map((f) => `${f} VALUE`).join(' ')}`);
    values.set(flag, value);
  }
  for (const flag of FLAGS) if (!values.has(flag)) throw new WatchdogError('BAD_ARGUMENT', `missing ${flag}`);
  return values;
}

try {
  const args = parseArgs(process.argv.slice(2));
  const running = await runTestDevice({
    socketPath: args.get('--socket')!,
    controlPath: args.get('--control')!,
    timeoutSeconds: Number(args.get('--timeout')),
    hostFile: args.get('--host-file')!,
    eventsPath: args.get('--events')!,
  });
  process.stdout.write(`test watchdog device ${process.pid} ready\n`);
  process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
  process.on('SIGINT', () => void running.close().then(() => process.exit(0)));
} catch (error) {
  const code = error instanceof WatchdogError ? error.code : 'INTERNAL';
  process.stderr.write(`test-watchdog-device: ${code}: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
