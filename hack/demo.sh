#!/usr/bin/env bash
# Starts pouchd (if it is not running), loads a busybox image built offline
# from the host's static busybox, and runs a first container.
set -euo pipefail
cd "$(dirname "$0")/.."
sock=/var/run/pouchd.sock
if ! pouch -H "unix://$sock" version >/dev/null 2>&1; then
  echo "starting pouchd (log: /var/log/pouchd.log)"
  nohup pouchd >>/var/log/pouchd.log 2>&1 &
  for _ in $(seq 1 100); do
    pouch -H "unix://$sock" version >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
if ! pouch image inspect busybox:latest >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  go run ./hack/mkimage -o "$tmp/busybox.tar"
  pouch load -i "$tmp/busybox.tar"
  rm -rf "$tmp"
fi
pouch run --rm busybox echo "Hello from a Pouch container"
