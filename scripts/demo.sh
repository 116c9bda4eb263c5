#!/usr/bin/env bash
# The main job on an embedded default: a disk image file stands in for the shared LUN.
# Makes the image, initializes a lockspace and a resource on it, and dumps them.
set -euo pipefail
cd "$(dirname "$0")/.."
leasehold() { node packages/cli/bin/leasehold.js "$@"; }

dir=${DEMO_DIR:-$(mktemp -d -t leasehold-demo-XXXXXX)}
image="$dir/shared-lun.img"
rm -f "$image"
truncate -s 64M "$image"
echo "# shared disk image: $image (64 MiB, 512-byte sectors)"

echo "# lockspace 'demo' at offset 0 (1 MiB area, 2000 host slots), io_timeout 1"
leasehold direct init -s "demo:0:$image:0" -o 1
echo "# resource 'vm1' at offset 1 MiB"
leasehold direct init -r "demo:vm1:$image:1048576"
echo "# init refuses to overwrite a live area without --force:"
leasehold direct init -r "demo:vm2:$image:1048576" || true

echo "# dump"
leasehold direct dump "$image"
echo "# read-leader of the resource"
leasehold direct read-leader -r "demo:vm1:$image:1048576"
if [ -z "${DEMO_DIR:-}" ]; then rm -rf "$dir"; fi
