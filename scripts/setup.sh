#!/usr/bin/env bash
# Installs what kzymy needs on a Debian machine, idempotently.
#   scripts/setup.sh            runtime + test tools + the FerretDB build (what `npm test` needs:
#                               the mongodb engine's tests run on FerretDB)
#   scripts/setup.sh --runtime  runtime only (what `npm start` needs on the default sqlite engine:
#                               redis-server, openssl, tor, and the compiler `npm ci` builds
#                               better-sqlite3 with). No Go, no FerretDB.
#   scripts/setup.sh --mongodb  runtime + the FerretDB build, for store.engine mongodb without a
#                               MongoDB server (npm start then runs the embedded FerretDB)
# Safe to run again: installed packages and an existing FerretDB build are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

FERRETDB_VERSION=v1.24.2
# The build carries kzymy's patches (scripts/ferretdb/*.patch, docs/decisions/0004): a new
# suffix here makes machines with an older build rebuild. Keep in step with src/embedded/paths.ts.
FERRETDB_BUILD="${FERRETDB_VERSION}-kzymy1"
FERRETDB_DIR=".tools/ferretdb-${FERRETDB_BUILD}"

# build-essential and python3: node-gyp compiles better-sqlite3 (the sqlite store engine) during
# `npm ci`, against the installed Node headers (.npmrc nodedir); there is no prebuilt to download.
runtime_packages=(redis-server openssl tor build-essential python3)
# Real clients and tools the test suite drives (swaks, fetchmail, getmail6, mbsync, offlineimap3,
# neomutt, GnuPG, a SOCKS proxy, procmail, hashcash, Chromium for the web pages, Thunderbird
# (headless, for what it shows of kzymy mail), systemd-analyze for the unit files, gpg-wks-client
# for the Web Key Directory hashes).
# Installed without "Recommends", so a recommended package a test needs is named here:
# libnet-ssleay-perl is what gives swaks STARTTLS. scripts/check-tools.sh checks them all.
test_packages=(swaks libnet-ssleay-perl fetchmail getmail6 isync offlineimap3 neomutt gnupg microsocks
  procmail hashcash chromium thunderbird netcat-openbsd torsocks systemd gpg-wks-client tmux)

mode="${1:-all}"
case "$mode" in
  all | --runtime | --mongodb) ;;
  *)
    echo "setup: unknown option $mode (use --runtime, --mongodb, or nothing for the tests)" >&2
    exit 64
    ;;
esac
packages=("${runtime_packages[@]}")
[ "$mode" = "all" ] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# Only the mongodb engine's embedded server and its tests need FerretDB (and Go to build it).
if [ "$mode" = "--runtime" ] || [ -x "${FERRETDB_DIR}/ferretdb" ]; then
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "setup: Go is needed once to build FerretDB ${FERRETDB_VERSION} (apt-get install golang, or set MONGODB_URL)" >&2
  exit 1
fi
echo "setup: building FerretDB ${FERRETDB_BUILD} (SQLite backend) — once, about two minutes"
# `go install` of the module builds a binary that panics at start: the module zip lacks
# build/version/version.txt, which the build embeds. So copy the module source and write it.
module_dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@${FERRETDB_VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$module_dir" ] || { echo "setup: go mod download of FerretDB failed" >&2; exit 1; }
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$module_dir/." "$work/"
chmod -R u+w "$work"
echo "${FERRETDB_BUILD}" > "$work/build/version/version.txt"
for patch in scripts/ferretdb/*.patch; do
  # git apply works outside a repository too, and refuses a patch that does not apply exactly.
  (cd "$work" && git apply -p1 "$OLDPWD/$patch") ||
    { echo "setup: FerretDB patch $patch does not apply" >&2; exit 1; }
done
mkdir -p "${FERRETDB_DIR}"
(cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$OLDPWD/${FERRETDB_DIR}/ferretdb.partial" ./cmd/ferretdb)
mv "${FERRETDB_DIR}/ferretdb.partial" "${FERRETDB_DIR}/ferretdb"
# Not `| head -1`: under pipefail, head closing the pipe early makes the step fail (SIGPIPE).
version=$("${FERRETDB_DIR}/ferretdb" --version)
echo "setup: built FerretDB ${version%%$'\n'*}"
