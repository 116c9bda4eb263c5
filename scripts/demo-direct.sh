#!/usr/bin/env bash
# The main job on an embedded default: a disk image file stands in for the shared LUN, and two
# hosts (two processes here) coordinate through leases written into it, with no daemon and no network.
set -euo pipefail
cd "$(dirname "$0")/.."
leasehold() { node packages/cli/bin/leasehold.js "$@"; }

dir=${DEMO_DIR:-$(mktemp -d -t leasehold-demo-XXXXXX)}
image="$dir/shared-lun.img"
rm -f "$image"
truncate -s 64M "$image"
LS="demo:0:$image:0"
VM1="demo:vm1:$image:1048576"
echo "# shared disk image: $image (64 MiB, 512-byte sectors)"

echo; echo "# 1. initialize a lockspace (delta leases, io_timeout 1 s) and a resource lease 'vm1'"
leasehold direct init -s "$LS" -o 1
leasehold direct init -r "$VM1"
echo "# init refuses to overwrite a lease without --force:"
leasehold direct init -r "demo:vm2:$image:1048576" || true

echo; echo "# 2. hostA joins as host_id 1 and runs 'vm1' while holding its lease exclusively"
leasehold direct run -s "demo:1:$image:0" -r "$VM1" -o 1 --name hostA -- \
  sh -c 'echo "hostA: vm1 is running"; sleep 5; echo "hostA: vm1 stops"' &
host_a=$!
sleep 3.5

echo; echo "# 3. hostB (host_id 2) wants vm1 too: refused while hostA is alive, and told who holds it"
status=0
leasehold direct run -s "demo:2:$image:0" -r "$VM1" -o 1 --name hostB -- echo "hostB: vm1 is running" || status=$?
echo "(hostB's run exited $status)"
wait "$host_a"

echo; echo "# 4. hostA released vm1 when its command ended: hostB gets it now (the lease version goes up)"
leasehold direct run -s "demo:2:$image:0" -r "$VM1" -o 1 --name hostB -- echo "hostB: vm1 is running"

echo; echo "# 5. what is on the disk: both hosts' delta leases, the vm1 leader and each host's ballot block"
leasehold direct dump "$image:0:4M"
echo; echo "# the resource leader, field by field (sanlock's names; sanlock reads these bytes too)"
leasehold direct read-leader -r "$VM1"
if [ -z "${DEMO_DIR:-}" ]; then rm -rf "$dir"; fi
