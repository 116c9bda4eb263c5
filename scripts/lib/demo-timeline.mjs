#!/usr/bin/env node
// The demo's fencing timeline, from what the emulated hosts leave behind (all on this machine's
// CLOCK_MONOTONIC, which the daemons, companions and test watchdog devices share):
//   node scripts/lib/demo-timeline.mjs now
//     prints CLOCK_MONOTONIC seconds (bash has only the wall clock)
//   node scripts/lib/demo-timeline.mjs takeover CLUSTER_DIR FENCED TAKER LOCKSPACE FROZEN_AT
//     prints the timeline from FENCED's last renewal to TAKER's takeover ballot and exits 1 if the
//     takeover came before the deadline (8 x io_timeout + W after that last renewal) or the watchdog
//     fired after it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** 8N: a lease not renewed for this long is lost (sanlock's id_renewal_fail). */
const RENEWAL_FAIL_FACTOR = 8;

const monotonicSeconds = () => Number(process.hrtime.bigint()) / 1e9;

function jsonLines(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

function fail(message) {
  process.stderr.write(`demo-timeline: ${message}\n`);
  process.exit(2);
}

function takeover(clusterDir, fenced, taker, lockspace, frozenAt) {
  const config = JSON.parse(readFileSync(join(clusterDir, 'cluster.json'), 'utf8'));
  const ioTimeout = config.ioTimeoutSeconds;
  const fireTimeout = config.watchdogFireTimeoutSeconds;
  // The companion is told "expires at last renewal + 8N" after every renewal.
  const expiries = jsonLines(join(clusterDir, fenced, 'companion.log'))
    .filter((entry) => entry.msg === 'registration set' && entry.lockspace === lockspace)
    .map((entry) => entry.expiresAtSeconds);
  if (expiries.length === 0) fail(`no renewal of ${lockspace} in ${fenced}'s companion log`);
  const lastRenewal = Math.max(...expiries) - RENEWAL_FAIL_FACTOR * ioTimeout;
  const deadline = lastRenewal + RENEWAL_FAIL_FACTOR * ioTimeout + fireTimeout;
  const events = jsonLines(join(clusterDir, fenced, 'watchdog-device-events.jsonl'));
  const fire = events.find((event) => event.type === 'fire' && event.atSeconds > frozenAt);
  const reset = events.find((event) => event.type === 'reset' && event.atSeconds > frozenAt);
  const ballot = jsonLines(join(clusterDir, taker, 'daemon.log'))
    .filter((entry) => entry.msg === 'owner has not renewed for host_dead_seconds: ballot')
    .filter((entry) => entry.issuedAtSeconds > frozenAt)
    .at(-1);
  if (ballot === undefined) fail(`${taker}'s daemon log has no takeover ballot`);

  const rows = [
    [lastRenewal, `${fenced} renews its delta lease for the last time (L)`],
    [frozenAt, `${fenced} frozen`],
    [ballot.waitStartSeconds, `${taker} last sees ${fenced}'s timestamp change`],
    [lastRenewal + RENEWAL_FAIL_FACTOR * ioTimeout, `L + 8N: ${fenced}'s lease expires; ${taker} sees it FAIL`],
    [deadline, `L + 8N + W = the deadline: only now may another host take ${fenced}'s leases`],
    [ballot.issuedAtSeconds, `${taker}'s daemon starts the ballot that takes the LV's lease from ${fenced}`],
  ];
  if (fire !== undefined) rows.push([fire.atSeconds, `${fenced}'s watchdog fires (no keepalive for W)`]);
  if (reset !== undefined) rows.push([reset.atSeconds, `${fenced} is reset: its processes are gone`]);
  rows.sort((a, b) => a[0] - b[0]);
  const stamp = (at) => `${at - lastRenewal >= 0 ? '+' : '-'}${Math.abs(at - lastRenewal).toFixed(2)}`.padStart(7);
  process.stdout.write(`  io_timeout N = ${ioTimeout} s, watchdog_fire_timeout W = ${fireTimeout} s\n`);
  for (const [at, what] of rows) process.stdout.write(`  ${stamp(at)} s  ${what}\n`);

  const problems = [];
  if (ballot.issuedAtSeconds < deadline)
    problems.push(`the takeover came ${(deadline - ballot.issuedAtSeconds).toFixed(2)} s before the deadline`);
  if (fire === undefined || fire.atSeconds > deadline)
    problems.push(`${fenced}'s watchdog did not fire before the deadline`);
  if (problems.length > 0) {
    process.stdout.write(`VIOLATION: ${problems.join('; ')}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `takeover ${(ballot.issuedAtSeconds - deadline).toFixed(2)} s after the deadline; ${fenced} was reset ${(deadline - fire.atSeconds).toFixed(2)} s before it\n`,
  );
}

const [command, ...args] = process.argv.slice(2);
if (command === 'now') process.stdout.write(`${monotonicSeconds().toFixed(3)}\n`);
else if (command === 'takeover' && args.length === 5) takeover(args[0], args[1], args[2], args[3], Number(args[4]));
else fail('usage: demo-timeline.mjs now | takeover CLUSTER_DIR FENCED TAKER LOCKSPACE FROZEN_AT');
