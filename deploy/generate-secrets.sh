#!/usr/bin/env bash
# Writes the secrets docker-compose.yml reads, into deploy/secrets/ (or the folder given):
#   mongo_keyfile          replica-set member authentication (756 random bytes, base64)
#   mongo_root_password    MongoDB's root user, used only by the mongo-init job
#   mongo_kzymy_password   kzymy's database user (readWrite on the kzymy database)
#   redis_password         Redis requirepass
#   kzymy_mongodb_url      mongodb://kzymy:…@mongo:27017/?replicaSet=rs0&authSource=admin
#   kzymy_redis_url        redis://:…@redis:6379/0
#   kzymy_web_secret       the web HMAC key (web.secretFile), shared by every daemon
# An existing file is kept, so running it again changes nothing; delete a file to renew it (and
# for a password, renew the URL with it). tls.key and tls.crt are yours: copy them in.
#
# Every file is mode 0600. The kzymy containers run as uid 10001 and read the kzymy_* and tls.*
# files through bind mounts that keep the host's owner: run this as root and they are given to
# uid 10001; otherwise the script says which chown to run.
set -euo pipefail

dir=${1:-"$(dirname "$0")/secrets"}
KZYMY_UID=10001
mkdir -p "$dir"
umask 077

random_hex() { openssl rand -hex 32; }

write() { # write NAME: content from stdin, unless the file exists
  local file="$dir/$1"
  if [ -e "$file" ]; then
    cat >/dev/null
    echo "kept    $file"
  else
    cat >"$file.partial"
    chmod 0600 "$file.partial"
    mv "$file.partial" "$file"
    echo "created $file"
  fi
}

openssl rand -base64 756 | write mongo_keyfile
random_hex | write mongo_root_password
random_hex | write mongo_kzymy_password
random_hex | write redis_password
# Hex passwords need no percent-encoding in a URL.
printf 'mongodb://kzymy:%s@mongo:27017/?replicaSet=rs0&authSource=admin\n' \
  "$(cat "$dir/mongo_kzymy_password")" | write kzymy_mongodb_url
printf 'redis://:%s@redis:6379/0\n' "$(cat "$dir/redis_password")" | write kzymy_redis_url
random_hex | write kzymy_web_secret

kzymy_files=(kzymy_mongodb_url kzymy_redis_url kzymy_web_secret)
for f in tls.key tls.crt; do
  if [ -e "$dir/$f" ]; then kzymy_files+=("$f"); else echo "missing $dir/$f: copy your certificate's key and chain there"; fi
done
if [ "$(id -u)" -eq 0 ]; then
  for f in "${kzymy_files[@]}"; do chown "$KZYMY_UID:$KZYMY_UID" "$dir/$f"; done
  echo "gave ${kzymy_files[*]} to uid $KZYMY_UID (the kzymy containers' user)"
else
  echo "then, as root: chown $KZYMY_UID:$KZYMY_UID $(printf "$dir/%s " "${kzymy_files[@]}")"
fi
