# Shared helpers for the service scripts. Sourced, not run.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 seconds=$2 name=$3
  for _ in $(seq 1 $((seconds * 2))); do
    port_open "$port" && return 0
    sleep 0.5
  done
  echo "$name did not open port $port within ${seconds}s" >&2
  return 1
}

# apt_install PKG... : installs only the packages that are missing (apt-get update first, once).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  if [ -z "${PARLEY_APT_UPDATED:-}" ]; then
    apt-get update -qq
    export PARLEY_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
