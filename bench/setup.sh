#!/usr/bin/env bash
# Benchmark prerequisites (Debian 12), run once as root: Dovecot's IMAP server, the anchor of the
# fetch scenario. The Debian package starts a system dovecot on ports 143/993; the benchmark
# does not use it (it runs its own throwaway instance on a loopback port), so it is stopped and
# disabled here when systemd is present. Everything else the benchmarks need comes with
# `npm run setup` (FerretDB, redis-server, gpg) and `npm ci` (Haraka, imapflow).
set -euo pipefail

if command -v dovecot >/dev/null 2>&1 && [ -x /usr/lib/dovecot/imap ]; then
  echo "bench/setup.sh: dovecot $(dovecot --version) already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/setup.sh: run as root (installs the Debian package dovecot-imapd)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends dovecot-core dovecot-imapd
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
fi
echo "bench/setup.sh: installed $(dovecot --version | head -1)"
