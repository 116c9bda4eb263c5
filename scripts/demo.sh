#!/usr/bin/env bash
# The mission in about a minute: two emulated hosts share one disk image (a loop device over an
# image file stands in for the SAN LUN) and an lvm volume group on it, with leases instead of a
# cluster manager. Every step prints what it runs (`host1$ leasehold ...`) and why (`# ...`).
# Needs root: the emulated hosts are pid namespaces, the image and the active LVs are loop devices.
# DEMO_DIR=DIR keeps the image and the hosts' logs there. `npm run demo:direct` is the older demo of
# bare leases on an image file (no daemon, no root).
set -euo pipefail
cd "$(dirname "$0")/.."

VG=demovg
LV=lv1
LOCKSPACE=lvm_$VG

leasehold() { node packages/cli/bin/leasehold.js "$@"; }
now() { node scripts/lib/demo-timeline.mjs now; }
say() {
  echo
  printf '# %s\n' "$@"
}
die() {
  printf 'demo: %s\n' "$*" >&2
  exit 1
}

if [ "$(id -u)" != 0 ]; then
  die "this demo needs root (emulated hosts are pid namespaces; the disk and the LVs are loop devices): sudo npm run demo; or npm run demo:direct, which does not"
fi
for tool in losetup blockdev unshare nsenter; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install util-linux)"
done

dir=${DEMO_DIR:-$(mktemp -d -t leasehold-demo-XXXXXX)}
mkdir -p "$dir"
cluster=$dir/cluster
image=$dir/shared-lun.img
pv=
started=$SECONDS

cleanup() {
  local status=$?
  set +e
  if [ -f "$cluster/cluster.json" ]; then leasehold testing cluster stop --dir "$cluster" >/dev/null 2>&1; fi
  if [ -n "$pv" ]; then
    # The active LVs' loop devices sit on the PV's; an emulated reset does not take kernel objects.
    for device in $(losetup -j "$pv" | cut -d: -f1); do losetup -d "$device"; done
    losetup -d "$pv"
  fi
  if [ -z "${DEMO_DIR:-}" ]; then rm -rf "$dir"; else rm -f "$image"; fi
  printf '\n# cleaned up: hosts stopped, loop devices detached (%s s in all)\n' "$((SECONDS - started))"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# `host1$ leasehold ...`: a command run inside an emulated host, shown as it is run.
on() {
  local host=$1
  shift
  local shown=() word
  for word in "$@"; do
    case $word in
      *[[:space:]\|\;\"]*) shown+=("'$word'") ;;
      *) shown+=("$word") ;;
    esac
  done
  printf '%s$ %s\n' "$host" "${shown[*]}"
  in_host "$host" "$@"
}
# The same without the echo. Each host has its own leasehold.conf, as each machine has its /etc/leasehold.
in_host() {
  local host=$1
  shift
  LEASEHOLD_CONFIG=$cluster/$host/leasehold.conf leasehold testing cluster exec --dir "$cluster" "$host" -- "$@"
}

say "A 400 MiB image file on a loop device is the shared LUN both hosts see."
rm -f "$image"
truncate -s 400M "$image"
pv=$(losetup --find --show "$image")
echo "shared disk: $pv ($image)"

say "Two emulated hosts on this machine: each one a pid namespace with its own lock daemon, watchdog" \
  "companion and test watchdog device (which kills the whole namespace when it fires), and its own" \
  "device_dir for the /dev/<vg>/<lv> links of its active LVs. Short timeouts so that fencing fits the demo."
leasehold testing cluster start --dir "$cluster" --hosts 2 --disk "$pv" --io-timeout 1 --watchdog-fire-timeout 10
# The volume commands read leasehold.conf (the devices to scan, the io_timeout of new lockspaces, where
# host-id.conf is); `cluster exec` passes LEASEHOLD_CONFIG on.
for index in 1 2; do
  host_dir=$cluster/host$index
  mkdir -p "$host_dir/lock"
  echo "* = $index" >"$host_dir/host-id.conf"
  printf 'io_timeout = 1\ndevices = %s\nlocking_dir = %s\nhost_id_file = %s\n' \
    "$pv" "$host_dir/lock" "$host_dir/host-id.conf" >"$host_dir/leasehold.conf"
done
echo "host1's leasehold.conf:"
sed 's/^/  /' "$cluster/host1/leasehold.conf"
echo "host1 takes host_id 1, host2 host_id 2 (their host-id.conf: '* = 1', '* = 2')"

say "host1 creates a shared VG, laid out as lvmlockd + sanlock lay it out (the lvmlock LV holds the" \
  "leases), and joins its lockspace $LOCKSPACE."
on host1 leasehold vgcreate --shared "$VG" "$pv"

say "host2 joins the lockspace too (vgchange --lock-start): it takes host_id 2, 2 x io_timeout."
on host2 leasehold lockstart --wait "$VG"
on host2 leasehold hosts "$LOCKSPACE"

say "host1 creates an LV (-an: not active anywhere yet), then activates it exclusively: it takes the LV's" \
  "lease EX and gets a block device of the LV's extents."
on host1 leasehold lvcreate -an -n "$LV" -L 16m "$VG"
on host1 leasehold lvchange -aey "$VG/$LV"
echo "host1's device_dir, $cluster/host1/dev:"
ls -l "$cluster/host1/dev/$VG"

say "host2 wants it too: refused, and told who holds it."
set +e
refusal=$(on host2 leasehold lvchange -aey "$VG/$LV" 2>&1)
code=$?
set -e
echo "$refusal"
echo "(exit status $code)"
[ "$code" != 0 ] || die "host2's lvchange -aey was not refused"
grep -q 'held by host_id 1 "host1"' <<<"$refusal" || die "the refusal does not name host1"

say "host1 deactivates it (the lease is released), and host2 takes it."
on host1 leasehold lvchange -an "$VG/$LV"
on host2 leasehold lvchange -aey "$VG/$LV"
on host2 leasehold lvchange -an "$VG/$LV"

say "Shared activation (-asy, the lease SH) on both hosts, e.g. for a cluster file system or a VM's" \
  "live migration."
on host1 leasehold lvchange -asy "$VG/$LV"
on host2 leasehold lvchange -asy "$VG/$LV"

say "host1 extends the LV while it is active on both (lvmlockd cannot). The commit tells the other" \
  "holders through an event in host1's delta lease; host2's daemon refreshes its device by itself and" \
  "answers the same way. No command is run on host2."
on host1 leasehold lvextend -L +8m "$VG/$LV"
extended_at=$(now)
# Each host's device is a loop device of the kernel: its size is read from here, without entering the host.
size_on() { blockdev --getsize64 "$cluster/$1/dev/$VG/$LV"; }
want=$((24 * 1024 * 1024))
for _ in $(seq 1 60); do
  if [ "$(size_on host1)" = "$want" ] && [ "$(size_on host2)" = "$want" ]; then break; fi
  sleep 0.5
done
for host in host1 host2; do echo "$host's $cluster/$host/dev/$VG/$LV: $(size_on "$host") bytes"; done
[ "$(size_on host1)" = "$want" ] && [ "$(size_on host2)" = "$want" ] || die "the hosts do not both see 24 MiB"
printf 'both at the new size %.1f s after the commit\n' "$(awk -v a="$(now)" -v b="$extended_at" 'BEGIN { print a - b }')"
say "lvs reads from the disk which holder has refreshed to which VG seqno (host_id:seqno)."
# host2's answer is in its delta lease from its next renewal on (every 2 x io_timeout).
for _ in $(seq 1 10); do
  report=$(in_host host2 leasehold lvs -o lv_name,lv_size,lock_refreshed "$VG/$LV")
  if [[ $report =~ [[:space:]]1:([0-9]+),2:([0-9]+) ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then break; fi
  sleep 1
done
echo "host2$ leasehold lvs -o lv_name,lv_size,lock_refreshed $VG/$LV"
echo "$report"

say "Fencing. host2 lets go, host1 converts its SH activation to EX in place and writes to the LV." \
  "Then the whole of host1 freezes (SIGSTOP of every process: a hung kernel, a paused VM), and its lease" \
  "is no longer renewed. host2 tries to take the LV every half second and is refused until host1 is" \
  "certainly dead: 8 x io_timeout + W after host1's last renewal. host1's watchdog resets it before that."
on host2 leasehold lvchange -an "$VG/$LV"
on host1 leasehold lvchange -aey "$VG/$LV"
on host1 sh -c "printf \"written by host1 before it froze\" | dd of=$cluster/host1/dev/$VG/$LV bs=4096 conv=sync oflag=direct status=none"
frozen_at=$(now)
leasehold testing cluster freeze --dir "$cluster" host1
for attempt in $(seq 1 60); do
  if out=$(in_host host2 leasehold lvchange -aey "$VG/$LV" 2>&1); then
    break
  fi
  held=$(grep -o 'held by .*' <<<"$out" || echo "$out")
  printf '+%5.1f s after the freeze  host2$ leasehold lvchange -aey %s: refused, %s\n' \
    "$(awk -v a="$(now)" -v b="$frozen_at" 'BEGIN { print a - b }')" "$VG/$LV" "$held"
  [ "$attempt" != 60 ] || die "host2 never got the LV"
  sleep 0.5
done
printf '+%5.1f s after the freeze  host2$ leasehold lvchange -aey %s: activated\n' \
  "$(awk -v a="$(now)" -v b="$frozen_at" 'BEGIN { print a - b }')" "$VG/$LV"

say "What happened when, on this machine's monotonic clock, from host1's last renewal L (its companion's" \
  "log, its watchdog device's events, host2's daemon log):"
node scripts/lib/demo-timeline.mjs takeover "$cluster" host1 host2 "$LOCKSPACE" "$frozen_at"
leasehold testing cluster status --dir "$cluster"
on host2 sh -c "dd if=$cluster/host2/dev/$VG/$LV bs=4096 count=1 iflag=direct status=none | tr -d \"\\000\"; echo"

if command -v lvm >/dev/null; then
  say "The real lvm reads the same VG (lvm2's own format; a private lvm.conf, no lvmlockd, and no" \
    "device-mapper: --driverloaded n, so the active column shows X, unknown)."
  mkdir -p "$dir/lvm/etc" "$dir/lvm/lock"
  printf 'devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 }\nglobal { use_lvmlockd = 0 locking_dir = "%s" }\nbackup { backup = 0 archive = 0 }\n' \
    "$dir/lvm/lock" >"$dir/lvm/etc/lvm.conf"
  echo "\$ lvs --devices $pv --shared -a --driverloaded n -o lv_name,vg_name,lv_size,lv_attr,vg_lock_type,lv_lock_args $VG"
  LVM_SYSTEM_DIR=$dir/lvm/etc LVM_SUPPRESS_FD_WARNINGS=1 lvm lvs --devices "$pv" --shared -a --driverloaded n \
    -o lv_name,vg_name,lv_size,lv_attr,vg_lock_type,lv_lock_args "$VG" 2>&1 | grep -v 'Activation disabled'
else
  say "lvm2 is not installed: skipping the real lvs (apt-get install lvm2 to see it)."
fi

say "Done: host2 deactivates the LV; the hosts stop and the loop devices go."
on host2 leasehold lvchange -an "$VG/$LV"
