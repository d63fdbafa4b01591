#!/usr/bin/env bash
# Build the task image without a registry: debootstrap a Debian bookworm rootfs (Debian's own
# packages), import it as the base image, then build docker/ingest/Dockerfile on it.
# An image built from the same inputs (the Dockerfile, the pinned requirements, the library)
# is reused: it carries their hash as the label equity-lake.inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=equity-lake-base:bookworm
IMAGE=${IMAGE:-equity-lake-ingest:latest}
INPUTS=$(
  find docker/ingest/Dockerfile docker/ingest/requirements.txt pyproject.toml README.md include \
    -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -c1-16
)
if [ "$(docker image inspect -f '{{ index .Config.Labels "equity-lake.inputs" }}' "$IMAGE" 2>/dev/null)" = "$INPUTS" ]; then
  echo "$IMAGE is up to date (inputs $INPUTS)"
  exit 0
fi
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
  ROOTFS=$(mktemp -d)
  trap 'rm -rf "$ROOTFS"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$ROOTFS"
  tar -C "$ROOTFS" -c . | docker import - "$BASE"
fi
mkdir -p docker/ingest/.build
cp "${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" docker/ingest/.build/ca-certificates.crt
docker build --network host --label "equity-lake.inputs=$INPUTS" \
  -f docker/ingest/Dockerfile -t "$IMAGE" .
echo "built $IMAGE (inputs $INPUTS)"
