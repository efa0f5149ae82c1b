#!/usr/bin/env bash
# A real S3-compatible server for the `real` test tier and for small self-hosted installs:
# OpenStack Swift (Debian 12 packages) as one node with the s3api middleware, tempauth
# credentials and encryption at rest (keymaster + encryption). No systemd needed.
#
# Idempotent: installs what is missing, rewrites only configuration that differs, restarts only
# servers whose configuration changed, leaves running servers alone. Run as root.
#
#   bash scripts/services/swift-s3.sh            # install/configure/start, wait, self-check
#   bash scripts/services/swift-s3.sh stop       # stop the servers this script started
#   bash scripts/services/swift-s3.sh status
#
# Defaults (override with the environment):
#   endpoint  http://127.0.0.1:8089   (SWIFT_S3_HOST, SWIFT_S3_PORT)
#   region    us-east-1               (SWIFT_S3_REGION)
#   access key "test:tester", secret "testing"  (SWIFT_S3_ACCOUNT, SWIFT_S3_USER, SWIFT_S3_SECRET)
# Files: configuration in /etc/parley-swift (+ /etc/swift/swift.conf, which Swift reads only
# from there), data in /var/lib/parley-swift, log in /var/log/parley-swift.log.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true # bash 5.2: '&' in ${x//a/b} must stay literal

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATES="$HERE/swift"

S3_HOST="${SWIFT_S3_HOST:-127.0.0.1}"
S3_PORT="${SWIFT_S3_PORT:-8089}"
REGION="${SWIFT_S3_REGION:-us-east-1}"
S3_ACCOUNT="${SWIFT_S3_ACCOUNT:-test}"
S3_USER="${SWIFT_S3_USER:-tester}"
S3_SECRET="${SWIFT_S3_SECRET:-testing}"
ACCOUNT_PORT="${SWIFT_ACCOUNT_PORT:-6212}"
CONTAINER_PORT="${SWIFT_CONTAINER_PORT:-6211}"
OBJECT_PORT="${SWIFT_OBJECT_PORT:-6210}"
MEMCACHE_PORT="${SWIFT_MEMCACHE_PORT:-11219}"
ETC="${SWIFT_S3_ETC:-/etc/parley-swift}"
DATA="${SWIFT_S3_DATA:-/var/lib/parley-swift}"
LOG="${SWIFT_S3_LOG:-/var/log/parley-swift.log}"
DEVICES="$DATA/node"
RUN="$DATA/run"
SERVERS=(memcached account container object proxy)
MARKER='Managed by scripts/services/swift-s3.sh (parley)'
# memcached: tempauth (the S3 credentials) requires it.
PACKAGES=(swift swift-proxy swift-object swift-account swift-container memcached)
PY=/usr/bin/python3 # Debian's python (the one with the swift modules), not a pyenv shim

log() { printf '%s [swift-s3] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

port_of() {
  case "$1" in
    account) echo "$ACCOUNT_PORT" ;;
    container) echo "$CONTAINER_PORT" ;;
    object) echo "$OBJECT_PORT" ;;
    proxy) echo "$S3_PORT" ;;
    memcached) echo "$MEMCACHE_PORT" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' init scripts from starting stock services (a stock proxy on :8080, the
  # port Parley itself defaults to; memcached on :11211): this script starts what it needs.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  # Recommends pull in Barbican/Keystone clients we do not use; skipping them halves the time.
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1; then
    log "apt-get install failed; refreshing package lists and retrying"
    apt-get update >>"$LOG" 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 || die "apt-get install failed (see $LOG)"
  fi
}

# ---------------------------------------------------------------------------------------------
CHANGED=" "

# write_if_changed FILE MODE CONTENT: atomic replace only when the content differs.
write_if_changed() {
  local file="$1" mode="$2" content="$3"
  if [ -f "$file" ] && [ "$(cat "$file")" == "$content" ]; then
    return 1
  fi
  local tmp
  tmp="$(mktemp "$file.XXXXXX")"
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$file"
  log "wrote $file"
  return 0
}

render() {
  local text
  text="$(cat "$TEMPLATES/$1")"
  text="${text//@SWIFT_ETC@/$ETC}"
  text="${text//@DEVICES@/$DEVICES}"
  text="${text//@DATA@/$DATA}"
  text="${text//@ACCOUNT_PORT@/$ACCOUNT_PORT}"
  text="${text//@CONTAINER_PORT@/$CONTAINER_PORT}"
  text="${text//@OBJECT_PORT@/$OBJECT_PORT}"
  text="${text//@PROXY_HOST@/$S3_HOST}"
  text="${text//@PROXY_PORT@/$S3_PORT}"
  text="${text//@MEMCACHE_PORT@/$MEMCACHE_PORT}"
  text="${text//@REGION@/$REGION}"
  text="${text//@S3_ACCOUNT@/$S3_ACCOUNT}"
  text="${text//@S3_USER@/$S3_USER}"
  text="${text//@S3_SECRET@/$S3_SECRET}"
  text="${text//@HASH_PREFIX@/${HASH_PREFIX:-}}"
  text="${text//@HASH_SUFFIX@/${HASH_SUFFIX:-}}"
  printf '%s' "$text"
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

configure() {
  mkdir -p "$ETC" "$DATA" "$RUN" "$DEVICES/d1" /etc/swift
  chmod 0700 "$DATA"

  # Secrets are generated once and kept: a new hash prefix/suffix or root secret would make every
  # stored object unreachable or undecryptable.
  if [ ! -s "$DATA/secrets.env" ]; then
    (
      umask 077
      printf 'HASH_PREFIX=%s\nHASH_SUFFIX=%s\n' "$(random_hex 16)" "$(random_hex 16)" >"$DATA/secrets.env"
    )
    log "generated $DATA/secrets.env"
  fi
  # shellcheck disable=SC1091
  . "$DATA/secrets.env"
  if [ ! -s "$DATA/keymaster.conf" ]; then
    (
      umask 077
      printf '[keymaster]\nencryption_root_secret = %s\n' "$(head -c 32 /dev/urandom | base64 -w0)" >"$DATA/keymaster.conf"
    )
    log "generated encryption root secret in $DATA/keymaster.conf"
  fi

  # Swift reads swift.conf only from /etc/swift. Keep a copy of a foreign one before replacing it.
  if [ -f /etc/swift/swift.conf ] && ! grep -qF "$MARKER" /etc/swift/swift.conf; then
    [ -e /etc/swift/swift.conf.before-parley ] || cp -p /etc/swift/swift.conf /etc/swift/swift.conf.before-parley
  fi
  if write_if_changed /etc/swift/swift.conf 0644 "$(render swift.conf.in)"; then
    CHANGED="$CHANGED account container object proxy "
  fi
  local s
  for s in account container object proxy; do
    if write_if_changed "$ETC/$s-server.conf" 0640 "$(render "$s-server.conf.in")"; then
      CHANGED="$CHANGED $s "
    fi
  done

  build_ring account "$ACCOUNT_PORT"
  build_ring container "$CONTAINER_PORT"
  build_ring object "$OBJECT_PORT"

  # The servers drop privileges to the `swift` user.
  chown -R swift:swift "$DATA" "$ETC"
  chown root:root "$DATA/secrets.env"
}

# build_ring NAME PORT: one device, one replica; rebuilt only when the device address changed.
build_ring() {
  local name="$1" port="$2" builder="$ETC/$1.builder"
  if [ -f "$ETC/$name.ring.gz" ] && [ -f "$builder" ] &&
    swift-ring-builder "$builder" 2>/dev/null | grep -qE "127\.0\.0\.1:$port[[:space:]].*[[:space:]]d1[[:space:]]"; then
    return 0
  fi
  log "building the $name ring (127.0.0.1:$port/d1)"
  rm -f "$builder" "$ETC/$name.ring.gz"
  swift-ring-builder "$builder" create 8 1 1 >>"$LOG" 2>&1
  swift-ring-builder "$builder" add --region 1 --zone 1 --ip 127.0.0.1 --port "$port" --device d1 --weight 100 >>"$LOG" 2>&1
  # Exit status 1 is a warning (e.g. balance), 2 an error.
  local rc=0
  swift-ring-builder "$builder" rebalance >>"$LOG" 2>&1 || rc=$?
  [ "$rc" -le 1 ] || die "swift-ring-builder $name rebalance failed (see $LOG)"
  CHANGED="$CHANGED $name "
}

# ---------------------------------------------------------------------------------------------
# The command line of each server; also how a pid file is checked against pid reuse.
command_of() {
  case "$1" in
    memcached) echo "memcached -l 127.0.0.1 -p $MEMCACHE_PORT -U 0 -m 64 -u $(id -u memcache >/dev/null 2>&1 && echo memcache || echo nobody)" ;;
    # -v logs to the console, i.e. to $LOG: there is no syslog daemon on these machines.
    *) echo "/usr/bin/swift-$1-server $ETC/$1-server.conf -v" ;;
  esac
}

# A zombie (exited, not yet reaped: init here may not reap) has an empty command line.
alive() { [ -n "$(tr -d '\0' <"/proc/$1/cmdline" 2>/dev/null)" ]; }

pid_of() {
  local pidfile="$RUN/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && alive "$pid" || return 1
  # Swift servers run as "/usr/bin/python3 <command>", hence the match on the end.
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$(command_of "$1") " ]] || return 1
  echo "$pid"
}

stop_server() {
  local pid i
  pid="$(pid_of "$1")" || {
    rm -f "$RUN/$1.pid"
    return 0
  }
  log "stopping $1 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    alive "$pid" || break
    sleep 0.2
  done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$RUN/$1.pid"
}

start_server() {
  local name="$1" pid
  if pid="$(pid_of "$name")"; then
    if [[ "$CHANGED" == *" $name "* ]]; then
      stop_server "$name"
    else
      log "$name already running (pid $pid)"
      return 0
    fi
  fi
  log "starting $name on 127.0.0.1:$(port_of "$name")"
  # shellcheck disable=SC2046 # word splitting of the command line is intended
  setsid $(command_of "$name") >>"$LOG" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

# ---------------------------------------------------------------------------------------------
# Waits until every server's healthcheck answers and a SigV4-signed S3 ListBuckets succeeds.
wait_ready() {
  "$PY" - "$S3_HOST" "$S3_PORT" "$S3_ACCOUNT:$S3_USER" "$S3_SECRET" "$REGION" \
    "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT" <<'PY' || die "Swift did not become ready (see $LOG)"
import datetime, hashlib, hmac, sys, time, urllib.error, urllib.request

host, port, access, secret, region = sys.argv[1:6]
backends = sys.argv[6:]
deadline = time.time() + 90

def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def wait(what, check):
    last = None
    while time.time() < deadline:
        try:
            ok, last = check()
            if ok:
                return
        except OSError as e:
            last = e
        time.sleep(0.5)
    sys.exit(f"{what} not ready: {last}")

for p in backends + [port]:
    bind = host if p == port else "127.0.0.1"
    wait(f"healthcheck :{p}", lambda: (lambda s: (s[0] == 200, s))(get(f"http://{bind}:{p}/healthcheck")))

def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()

def list_buckets():
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    hostport = f"{host}:{port}"
    canonical = "\n".join(["GET", "/", "", f"host:{hostport}", f"x-amz-content-sha256:{payload}",
                           f"x-amz-date:{amz_date}", "", "host;x-amz-content-sha256;x-amz-date", payload])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = sign(sign(sign(sign(("AWS4" + secret).encode(), day), region), "s3"), "aws4_request")
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = (f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
            f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sig}")
    status, body = get(f"http://{hostport}/", {"x-amz-date": amz_date, "x-amz-content-sha256": payload,
                                               "Authorization": auth})
    return status == 200 and b"ListAllMyBucketsResult" in body, (status, body[:300])

wait("S3 (SigV4 ListBuckets)", list_buckets)
PY
}

# Node check with the AWS SDK (the client the server uses): SigV4, multipart, presigned URLs,
# and that Swift keeps object bodies encrypted on disk. Runs when the repo's SDK is installed.
self_check() {
  [ "${SWIFT_S3_SKIP_CHECK:-0}" = 1 ] && return 0
  if ! command -v node >/dev/null || [ ! -d "$HERE/../../node_modules/@aws-sdk/client-s3" ]; then
    log "skipping the Node self-check: node or node_modules/@aws-sdk/client-s3 is missing"
    return 0
  fi
  local out
  out="$(S3_ENDPOINT="http://$S3_HOST:$S3_PORT" S3_REGION="$REGION" S3_ACCESS_KEY_ID="$S3_ACCOUNT:$S3_USER" \
    S3_SECRET_ACCESS_KEY="$S3_SECRET" node "$TEMPLATES/check-s3.js" 2>&1)" || die "Node S3 self-check failed: $out"
  log "$out"
  # The check left one object whose body contains a marker; it must not appear in clear on disk.
  local marker bytes
  marker="$(printf '%s\n' "$out" | sed -n 's/.*marker=\([A-Za-z0-9-]*\).*/\1/p')"
  bytes="$(printf '%s\n' "$out" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')"
  # Swift's encryption keeps the size, so a .data file of that size must exist (the object is on
  # this disk), and the marker must not be readable in any file.
  [ -n "$(find "$DEVICES" -name '*.data' -size "${bytes}c" -print -quit)" ] ||
    die "the self-check object was not found under $DEVICES"
  if grep -rqF "$marker" "$DEVICES"; then
    die "object data is stored in clear under $DEVICES: encryption at rest is not active"
  fi
  log "encryption at rest: the marker is not readable under $DEVICES"
  S3_ENDPOINT="http://$S3_HOST:$S3_PORT" S3_REGION="$REGION" S3_ACCESS_KEY_ID="$S3_ACCOUNT:$S3_USER" \
    S3_SECRET_ACCESS_KEY="$S3_SECRET" node "$TEMPLATES/check-s3.js" --cleanup >>"$LOG" 2>&1 || true
}

status() {
  local s pid rc=0
  for s in "${SERVERS[@]}"; do
    if pid="$(pid_of "$s")"; then echo "$s running (pid $pid)"; else
      echo "$s stopped"
      rc=1
    fi
  done
  return $rc
}

main() {
  [ "$(id -u)" = 0 ] || {
    echo "swift-s3.sh must run as root" >&2
    exit 1
  }
  mkdir -p "$(dirname "$LOG")"
  case "${1:-start}" in
    stop)
      local s
      for s in proxy object container account memcached; do stop_server "$s"; done
      ;;
    status) status ;;
    start)
      local started=$SECONDS s
      install_packages
      configure
      for s in memcached account container object proxy; do start_server "$s"; done
      wait_ready
      self_check
      log "S3 ready in $((SECONDS - started)) s: endpoint http://$S3_HOST:$S3_PORT region $REGION" \
        "access key $S3_ACCOUNT:$S3_USER secret $S3_SECRET"
      ;;
    *)
      echo "usage: $0 [start|stop|status]" >&2
      exit 2
      ;;
  esac
}

main "$@"
