#!/usr/bin/env bash
# Installs what `make run` and `make test` need on Debian 12, and only what is missing:
# build tools, PostgreSQL, the WebKitGTK stack Tauri builds against, Xvfb and
# WebKitWebDriver for the end-to-end tests, LibreOffice (an exported CSV must open in
# it) and sqlite3 (the console benchmark), libmodsecurity and the OWASP Core Rule Set
# (the gateway's WAF), Node.js/npm for the UI, tauri-driver.
set -euo pipefail

packages=(
    build-essential pkg-config curl ca-certificates file
    postgresql postgresql-client
    libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev librsvg2-dev
    libxdo-dev libssl-dev libdbus-1-dev
    webkit2gtk-driver xvfb xauth
    libreoffice-calc-nogui sqlite3
    slapd ldap-utils
    python3-aiosmtpd
    libmodsecurity3 libmodsecurity-dev modsecurity-crs
)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

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
if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "deps: installing tauri-driver"
    cargo install tauri-driver --locked --quiet
fi
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    echo "deps: installing the UI's npm packages"
    # `npm install`, not `npm ci`: with this machine's npm settings (no resolved URLs in
    # the lock file) `npm ci` refuses optional per-platform packages; the lock still pins versions.
    (cd ui && npm install --no-audit --no-fund --loglevel=error)
fi
