#!/bin/sh
# kzymy's container entrypoint (run under tini). Docker and compose secrets arrive as files, and
# kzymy reads its connection strings from the environment (MONGODB_URL, REDIS_URL): for each such
# variable, NAME_FILE names a file whose content becomes NAME, the convention of the official
# database images. The value never appears on a command line. Then the command runs as given.
set -eu

for name in MONGODB_URL REDIS_URL; do
  eval "file=\${${name}_FILE:-}"
  [ -n "$file" ] || continue
  eval "current=\${${name}:-}"
  if [ -n "$current" ]; then
    echo "kzymy-entrypoint: both ${name} and ${name}_FILE are set; set one" >&2
    exit 78
  fi
  if [ ! -r "$file" ]; then
    echo "kzymy-entrypoint: cannot read ${name}_FILE ($file) as uid $(id -u): make it readable (deploy/generate-secrets.sh)" >&2
    exit 66
  fi
  value=$(cat "$file")
  export "$name=$value"
  unset "${name}_FILE"
done

exec "$@"
