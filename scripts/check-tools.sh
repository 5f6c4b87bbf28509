#!/usr/bin/env bash
# Checks that every external program the test suite starts is on this machine, and names the
# Debian package for each one that is not. Run by .ci/run after setup, so a fresh machine fails
# here with a list to install instead of deep inside a test (a client's missing "Recommends" —
# swaks without Net::SSLeay has no STARTTLS — used to pass only where it was installed by hand).
set -euo pipefail

# program (or perl:Module) → the Debian package that provides it. Keep in step with the
# test_packages and runtime_packages of scripts/setup.sh.
tools=(
  "redis-server:redis-server"
  "openssl:openssl"
  "tor:tor"
  "swaks:swaks"
  "perl:Net::SSLeay:libnet-ssleay-perl"
  "fetchmail:fetchmail"
  "getmail:getmail6"
  "mbsync:isync"
  "offlineimap:offlineimap3"
  "neomutt:neomutt"
  "gpg:gnupg"
  "gpg-agent:gpg-agent"
  "dirmngr:dirmngr"
  "/usr/lib/gnupg/gpg-wks-client:gpg-wks-client"
  "unshare:util-linux"
  "microsocks:microsocks"
  "procmail:procmail"
  "hashcash:hashcash"
  "chromium:chromium"
  "thunderbird:thunderbird"
  "nc:netcat-openbsd"
  "torsocks:torsocks"
  "tmux:tmux"
  "systemd-analyze:systemd"
  "cc:build-essential"
  "make:build-essential"
  "python3:python3"
)

missing=()
for entry in "${tools[@]}"; do
  if [[ "$entry" == perl:* ]]; then
    module=${entry#perl:}
    module=${module%:*}
    package=${entry##*:}
    perl -M"$module" -e 1 2>/dev/null || missing+=("perl module $module (apt-get install $package)")
  else
    program=${entry%%:*}
    package=${entry#*:}
    command -v "$program" >/dev/null 2>&1 || missing+=("$program (apt-get install $package)")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "check-tools: the test suite needs programs this machine lacks:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "check-tools: all ${#tools[@]} programs and modules the tests use are present"
