// For the cluster tests, run inside an emulated host (`cluster exec HOST -- node activate-loop.mjs ...`):
//   node activate-loop.mjs CLI_PATH VG/LV RETRY_MS
// Runs `leasehold lvchange -aey VG/LV` every RETRY_MS until it succeeds. Prints JSON lines; times are
// CLOCK_MONOTONIC seconds:
//   {"type":"refused","attemptStartSeconds","stderr"}      (only the first and every 10th)
//   {"type":"granted","attemptStartSeconds","grantedSeconds","refusals"}
import { spawn } from 'node:child_process';

const [cliPath, lvPath, retryText] = process.argv.slice(2);
const retryMs = Number(retryText ?? '200');
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');
const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function run() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, 'lvchange', '-aey', lvPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (data) => (stderr += data.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

let refusals = 0;
for (;;) {
  const attemptStartSeconds = now();
  const { code, stderr } = await run();
  if (code === 0) {
    say({ type: 'granted', attemptStartSeconds, grantedSeconds: now(), refusals });
    break;
  }
  if (refusals % 10 === 0) say({ type: 'refused', attemptStartSeconds, stderr });
  refusals++;
  await sleep(retryMs);
}
