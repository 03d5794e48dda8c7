#!/usr/bin/env bash
# Installs what `make run` and `make test` need on Debian 12, and only what is missing.
set -euo pipefail

packages=(build-essential pkg-config curl ca-certificates postgresql postgresql-client)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "deps: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi
