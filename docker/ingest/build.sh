#!/usr/bin/env bash
# Build the task image without a registry: debootstrap a Debian bookworm rootfs (Debian's own
# packages), import it as the base image, then build docker/ingest/Dockerfile on it.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=equity-lake-base:bookworm
IMAGE=${IMAGE:-equity-lake-ingest:latest}
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
  ROOTFS=$(mktemp -d)
  trap 'rm -rf "$ROOTFS"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$ROOTFS"
  tar -C "$ROOTFS" -c . | docker import - "$BASE"
fi
mkdir -p docker/ingest/.build
cp "${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" docker/ingest/.build/ca-certificates.crt
docker build --network host -f docker/ingest/Dockerfile -t "$IMAGE" .
echo "built $IMAGE"
