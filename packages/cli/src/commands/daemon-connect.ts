/** What every command that talks to the daemon shares: the --socket option and connecting. */
import type { Argv } from 'yargs';
import { defaultSocketPath, LeaseholdClient } from '@leasehold/client';

export interface SocketArgs {
  socket: string | undefined;
}

export function withSocketOption<T>(y: Argv<T>): Argv<T & SocketArgs> {
  return y.option('socket', {
    type: 'string',
    describe: 'the daemon socket (default: $LEASEHOLD_SOCKET, else /run/leasehold/leasehold.sock)',
  }) as unknown as Argv<T & SocketArgs>;
}

export function connectDaemon(argv: SocketArgs, name = 'leasehold-cli'): Promise<LeaseholdClient> {
  return LeaseholdClient.connect({ socketPath: argv.socket ?? defaultSocketPath(), name });
}

/** A one-line progress display on a terminal (nothing when stderr is not a terminal). */
export function progressLine(): { show(text: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  return {
    show(text: string) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[K${text}`);
      shown = true;
    },
    done() {
      if (tty && shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}
