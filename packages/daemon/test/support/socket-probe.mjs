// A client process for the socket-access tests that runs as ANOTHER uid. It imports nothing but
// node:net, so it is copied next to the socket and runs even where that uid cannot read the
// checkout (a fresh clone under a 0700 directory). It speaks the wire protocol directly:
//   node socket-probe.mjs '{"socket": "..."}'
// Prints {"type":"connected","pid":N} when register succeeds, {"type":"error","code":...} on a
// failure reply, or {"type":"error","code":"CLOSED"} when the daemon closes without a reply.
import { createConnection } from 'node:net';

const args = JSON.parse(process.argv[2]);
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');
const socket = createConnection(args.socket);
let buffered = '';
let answered = false;
socket.on('connect', () => socket.write(JSON.stringify({ id: 1, op: 'register', name: 'probe' }) + '\n'));
socket.on('data', (data) => {
  buffered += data.toString('utf8');
  const newline = buffered.indexOf('\n');
  if (newline === -1 || answered) return;
  answered = true;
  const reply = JSON.parse(buffered.slice(0, newline));
  if (reply.ok === true) {
    say({ type: 'connected', pid: process.pid });
    setInterval(() => {}, 1 << 30);
  } else {
    say({ type: 'error', code: reply.error?.code, message: reply.error?.message });
    process.exit(3);
  }
});
socket.on('error', (error) => {
  say({ type: 'error', code: error.code, message: error.message });
  process.exit(3);
});
socket.on('close', () => {
  if (!answered) say({ type: 'error', code: 'CLOSED', message: 'the daemon closed the connection without a reply' });
  process.exit(3);
});
