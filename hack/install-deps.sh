#!/usr/bin/env bash
# Installs what Pouch needs at run time (runc, CNI plugins, iptables, a
# static busybox for the first image) and what its tests use (a registry,
# skopeo, umoci), then downloads the Go modules.
set -euo pipefail
packages=(runc busybox-static containernetworking-plugins iptables docker-registry skopeo umoci)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# docker-registry's package starts a registry on :5000; tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
cd "$(dirname "$0")/.."
go mod download
