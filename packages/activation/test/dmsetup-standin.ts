/**
 * A recording `dmsetup` stand-in (device-mapper is absent on these machines): a shell script that
 * logs every call with its stdin and keeps device tables as files, answering create, reload,
 * suspend, resume, remove, info and table as dmsetup does. Files in its directory steer failures:
 * `fail-reload` makes reload fail, `busy-<name>` makes remove of <name> fail as busy, `no-dm` fails every
 * call as dmsetup does where the kernel has no device-mapper.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The major number the stand-in gives its devices (device-mapper's is dynamic; 253 is common). */
export const STANDIN_MAJOR = 253;

const SCRIPT = `#!/bin/sh
dir=$(dirname "$0")
state="$dir/state"
log="$dir/log"
input=$(cat)
printf 'CALL %s\\n' "$*" >> "$log"
if [ -e "$dir/no-dm" ]; then
  printf '%s\\n' '/dev/mapper/control: open failed: No such device' 'Failure to communicate with kernel device-mapper driver.' 'Command failed.' >&2
  exit 1
fi
[ -n "$input" ] && printf '%s\\n' "$input" | sed 's/^/  /' >> "$log"
last() { for a in "$@"; do l=$a; done; printf '%s' "$l"; }
missing() { echo "Device does not exist." >&2; exit 1; }
case "$1" in
  create)
    name=$2
    [ -e "$state/$name.table" ] && { echo "device-mapper: create ioctl on $name failed: Device or resource busy" >&2; exit 1; }
    printf '%s\\n' "$input" > "$state/$name.table"
    n=$(ls "$state" | grep -c '\\.minor$')
    echo "$n" > "$state/$name.minor" ;;
  reload)
    name=$2
    [ -e "$state/$name.table" ] || missing
    [ -e "$dir/fail-reload" ] && { echo "device-mapper: reload ioctl on $name failed: Invalid argument" >&2; exit 1; }
    printf '%s\\n' "$input" > "$state/$name.inactive" ;;
  suspend)
    [ -e "$state/$2.table" ] || missing
    touch "$state/$2.suspended" ;;
  resume)
    [ -e "$state/$2.table" ] || missing
    [ -e "$state/$2.inactive" ] && mv "$state/$2.inactive" "$state/$2.table"
    rm -f "$state/$2.suspended" ;;
  remove)
    [ -e "$state/$2.table" ] || missing
    [ -e "$dir/busy-$2" ] && { echo "device-mapper: remove ioctl on $2 failed: Device or resource busy" >&2; exit 1; }
    rm -f "$state/$2.table" "$state/$2.minor" "$state/$2.inactive" ;;
  info)
    name=$(last "$@")
    [ -e "$state/$name.table" ] || missing
    echo "${STANDIN_MAJOR}:$(cat "$state/$name.minor")" ;;
  table)
    [ -e "$state/$2.table" ] || missing
    cat "$state/$2.table" ;;
  *) echo "stand-in: unexpected $1" >&2; exit 2 ;;
esac
`;

export interface DmsetupStandin {
  readonly dir: string;
  readonly path: string;
  /** The calls so far: each "CALL <args>" line, then its stdin lines indented by two spaces. */
  log(): string[];
  clearLog(): void;
  /** The live table of a device, or null. */
  table(name: string): string | null;
  isSuspended(name: string): boolean;
  setFailReload(on: boolean): void;
  setBusy(name: string, on: boolean): void;
  setNoDeviceMapper(on: boolean): void;
  cleanup(): void;
}

export function makeDmsetupStandin(): DmsetupStandin {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-dmsetup-'));
  const path = join(dir, 'dmsetup');
  mkdirSync(join(dir, 'state'));
  writeFileSync(path, SCRIPT);
  chmodSync(path, 0o755);
  const logPath = join(dir, 'log');
  const toggle = (file: string, on: boolean): void => {
    if (on) writeFileSync(join(dir, file), '');
    else rmSync(join(dir, file), { force: true });
  };
  return {
    dir,
    path,
    log: () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').trimEnd().split('\n') : []),
    clearLog: () => rmSync(logPath, { force: true }),
    table: (name) => {
      const file = join(dir, 'state', `${name}.table`);
      return existsSync(file) ? readFileSync(file, 'utf8') : null;
    },
    isSuspended: (name) => existsSync(join(dir, 'state', `${name}.suspended`)),
    setFailReload: (on) => toggle('fail-reload', on),
    setBusy: (name, on) => toggle(`busy-${name}`, on),
    setNoDeviceMapper: (on) => toggle('no-dm', on),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
