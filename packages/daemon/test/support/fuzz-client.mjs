// Fuzzes the daemon socket from a separate process (so that "no leaked lease" can be checked after
// it exits): garbage, huge lines, truncated JSON, wrong types, unknown ops, non-objects, clients that
// disconnect mid-request, and valid requests, generated with fast-check.
//   node fuzz-client.mjs '{"socket": "...", "count": 100000, "seed": 42, "lockspace": "FZ", "path": "...", "offsetBytes": 1048576}'
import { createConnection } from 'node:net';
import fc from 'fast-check';

const args = JSON.parse(process.argv[2]);
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');
const MAX_MESSAGE_BYTES = 64 * 1024;
const OPS = [
  'register',
  'acquire',
  'release',
  'set_lvb',
  'get_lvb',
  'convert',
  'inquire',
  'request',
  'set_event',
  'get_events',
  'status',
  'host_status',
  'renewal_history',
  'lockstart',
  'lockstop',
];
const location = { lockspace: args.lockspace, resource: 'R1', path: args.path, offsetBytes: args.offsetBytes };

const jsonValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
const validRequest = fc.oneof(
  fc.constant({ op: 'status' }),
  fc.constant({ op: 'inquire' }),
  fc.record({ op: fc.constant('acquire'), mode: fc.constantFrom('EX', 'SH') }).map((r) => ({ ...r, ...location })),
  fc.constant({ op: 'release', lockspace: args.lockspace, resource: 'R1' }),
  fc.constant({ op: 'host_status', lockspace: args.lockspace }),
  fc.constant({ op: 'renewal_history', lockspace: args.lockspace, limit: 3 }),
  fc.constant({ op: 'get_events', lockspace: args.lockspace }),
  fc.record({
    op: fc.constant('acquire'),
    lockspace: fc.string({ minLength: 1, maxLength: 60 }),
    resource: fc.string({ minLength: 1, maxLength: 60 }),
    path: fc.constant('/nonexistent/x'),
    offsetBytes: fc.nat(),
    mode: fc.constant('EX'),
  }),
);
const action = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'garbage', bytes })) },
  {
    weight: 3,
    arbitrary: fc.tuple(validRequest, fc.nat()).map(([request, cut]) => ({ kind: 'truncated', request, cut })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...OPS),
        fc.dictionary(
          fc.constantFrom(
            'lockspace',
            'resource',
            'path',
            'offsetBytes',
            'mode',
            'waitSeconds',
            'hostId',
            'lver',
            'wait',
            'lvb',
            'data',
            'size',
            'x',
            '__proto__',
            'constructor',
          ),
          jsonValue,
          { maxKeys: 6 },
        ),
        fc.oneof(fc.nat(), jsonValue),
      )
      .map(([op, fields, id]) => ({ kind: 'wrongTypes', message: { ...fields, op, id } })),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({ maxLength: 40 })
      .filter((op) => !OPS.includes(op))
      .map((op) => ({ kind: 'unknownOp', op })),
  },
  { weight: 1, arbitrary: jsonValue.map((value) => ({ kind: 'nonObject', value })) },
  { weight: 3, arbitrary: validRequest.map((request) => ({ kind: 'valid', request })) },
  {
    weight: 1,
    arbitrary: fc.tuple(validRequest, fc.nat()).map(([request, cut]) => ({ kind: 'disconnect', request, cut })),
  },
  { weight: 1, arbitrary: fc.constantFrom('acquire-wait-disconnect').map(() => ({ kind: 'acquireDisconnect' })) },
);
const rare = fc
  .integer({ min: MAX_MESSAGE_BYTES + 1, max: 4 * MAX_MESSAGE_BYTES })
  .map((size) => ({ kind: 'huge', size }));

class Conn {
  constructor() {
    this.socket = createConnection(args.socket);
    this.socket.setNoDelay?.(true);
    this.buffer = '';
    this.waiters = new Map();
    this.closed = new Promise((resolve) => this.socket.on('close', resolve));
    this.socket.on('error', () => {});
    this.socket.on('data', (data) => {
      this.buffer += data.toString();
      for (let newline = this.buffer.indexOf('\n'); newline !== -1; newline = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        let reply;
        try {
          reply = JSON.parse(line);
        } catch {
          counts.unparsableReply = (counts.unparsableReply ?? 0) + 1;
          continue;
        }
        if ('progress' in reply) continue;
        const key = reply.ok ? 'ok' : reply.error.code;
        counts[key] = (counts[key] ?? 0) + 1;
        const waiter = this.waiters.get(reply.id);
        if (waiter) {
          this.waiters.delete(reply.id);
          waiter(reply);
        }
      }
    });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }
  write(text) {
    if (!this.socket.destroyed) this.socket.write(text);
  }
  call(message) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${JSON.stringify(message)}`)), 20000);
      this.waiters.set(message.id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.write(JSON.stringify(message) + '\n');
    });
  }
}

const counts = {};
let nextId = 1;
let conn = new Conn();
await conn.ready;
const reconnect = async () => {
  conn.socket.destroy();
  conn = new Conn();
  await conn.ready;
  counts.reconnects = (counts.reconnects ?? 0) + 1;
};
const actions = fc.sample(action, { numRuns: args.count, seed: args.seed });
const rares = fc.sample(rare, { numRuns: 20, seed: args.seed + 1 });
let sent = 0;
for (let i = 0; i < actions.length; i++) {
  const a = actions[i];
  switch (a.kind) {
    case 'garbage':
      conn.write(Buffer.concat([Buffer.from(a.bytes), Buffer.from('\n')]));
      break;
    case 'truncated': {
      const text = JSON.stringify({ ...a.request, id: nextId++ });
      conn.write(text.slice(0, a.cut % Math.max(1, text.length)) + '\n');
      break;
    }
    case 'wrongTypes':
      conn.write(JSON.stringify(a.message) + '\n');
      break;
    case 'unknownOp':
      conn.write(JSON.stringify({ id: nextId++, op: a.op }) + '\n');
      break;
    case 'nonObject':
      conn.write(JSON.stringify(a.value) + '\n');
      break;
    case 'valid':
      conn.write(JSON.stringify({ ...a.request, id: nextId++ }) + '\n');
      break;
    case 'disconnect': {
      const text = JSON.stringify({ ...a.request, id: nextId++ });
      conn.write(text.slice(0, a.cut % Math.max(1, text.length)));
      await reconnect();
      break;
    }
    case 'acquireDisconnect': {
      // An acquire that waits, abandoned by its client mid-request.
      conn.write(JSON.stringify({ op: 'acquire', ...location, mode: 'EX', waitSeconds: 5, id: nextId++ }) + '\n');
      await reconnect();
      break;
    }
  }
  sent++;
  if (i % 5000 === 4999) {
    const huge = rares[(i / 5000) | 0];
    if (huge) {
      conn.write('x'.repeat(huge.size) + '\n');
      await conn.closed;
      await reconnect();
    }
  }
  if (i % 500 === 499) {
    // A sync point: the daemon answers a status request on this connection.
    const reply = await conn.call({ id: nextId++, op: 'status' });
    if (!reply.ok) throw new Error(`status failed: ${JSON.stringify(reply)}`);
  }
}
const final = await conn.call({ id: nextId++, op: 'status' });
say({
  type: 'done',
  sent,
  counts,
  leasesHeldByUs: final.result.leases.filter((lease) => lease.pid === process.pid).length,
});
conn.socket.destroy();
process.exit(0);
