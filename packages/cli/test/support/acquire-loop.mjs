// A client for the cluster tests, run inside an emulated host (`cluster exec HOST -- node acquire-loop.mjs ...`):
//   node acquire-loop.mjs CLIENT_DIST '{"lockspace","resource","path","offsetBytes","retryMs"}'
// Tries to acquire the lease (exclusive, no wait) every retryMs until it succeeds, then holds it until
// killed. Prints JSON lines; times are CLOCK_MONOTONIC seconds:
//   {"type":"refused","attemptStartSeconds","code"}        (only the first and every 10th)
//   {"type":"granted","attemptStartSeconds","grantedSeconds","previousRefusalEndSeconds"}
const [clientDist, json] = process.argv.slice(2);
const args = JSON.parse(json);
const { LeaseholdClient } = await import(clientDist);
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');
const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const client = await LeaseholdClient.connect({ name: 'acquire-loop' });
let refusals = 0;
let previousRefusalEndSeconds = null;
for (;;) {
  const attemptStartSeconds = now();
  try {
    await client.acquire(
      { lockspace: args.lockspace, resource: args.resource, path: args.path, offsetBytes: args.offsetBytes },
      { mode: 'EX', waitSeconds: 0 },
    );
    say({ type: 'granted', attemptStartSeconds, grantedSeconds: now(), previousRefusalEndSeconds, refusals });
    break;
  } catch (error) {
    previousRefusalEndSeconds = now();
    if (refusals % 10 === 0) say({ type: 'refused', attemptStartSeconds, code: error.code, message: error.message });
    refusals++;
    await sleep(args.retryMs ?? 100);
  }
}
setInterval(() => {}, 1 << 30);
