// A lease-holding client process for the daemon tests.
//   node holder.mjs CLIENT_DIST '{"socket": "...", "leases": [{...location, mode, waitSeconds}], "fork": false}'
// Prints one JSON line per step: {"type":"acquired", ...}, {"type":"forked","pid":N}, {"type":"error",...}.
import { spawn } from 'node:child_process';

const [clientDist, json] = process.argv.slice(2);
const args = JSON.parse(json);
const { LeaseholdClient } = await import(clientDist);
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');

try {
  const client = await LeaseholdClient.connect({ socketPath: args.socket, name: args.name ?? 'holder' });
  say({ type: 'connected', pid: process.pid });
  for (const lease of args.leases ?? []) {
    const { mode, waitSeconds, persistent, ...location } = lease;
    const held = await client.acquire(location, { mode: mode ?? 'EX', waitSeconds: waitSeconds ?? 0, persistent });
    say({ type: 'acquired', lease: held.info });
  }
  if (args.fork) {
    // A child that inherits the daemon connection (its fd) and outlives us.
    const fd = client['connection'].fd;
    const child = spawn('sleep', ['60'], { stdio: ['ignore', 'ignore', 'ignore', fd], detached: true });
    child.unref();
    say({ type: 'forked', pid: child.pid, fd });
  }
  if (args.exitAfterAcquire) {
    say({ type: 'exiting' });
    process.exit(0);
  }
  say({ type: 'holding' });
  setInterval(() => {}, 1 << 30);
} catch (error) {
  say({ type: 'error', code: error.code, message: error.message });
  process.exit(3);
}
