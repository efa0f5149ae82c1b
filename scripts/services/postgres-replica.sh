#!/usr/bin/env bash
# Makes a streaming read replica of the local PostgreSQL cluster (127.0.0.1:5432) listen on
# 127.0.0.1:5433, for the replica-routing tests and for trying DATABASE_REPLICA_URL locally.
# Idempotent: a replica that already streams is left alone; a stopped one is started; one that
# belongs to another primary (cluster re-created) or cannot catch up is rebuilt.
# Needs the primary running (scripts/services/core.sh). Runs as root, without systemd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PRIMARY_PORT=5432
REPLICA_PORT=${PARLEY_REPLICA_PORT:-5433}
REPLICA_DIR=${PARLEY_REPLICA_DIR:-/var/lib/postgresql/parley-replica}
REPLICA_LOG=${PARLEY_REPLICA_LOG:-/var/log/postgresql/parley-replica.log}
REPLICA_NAME=parley_replica

ver=$(ls /etc/postgresql | sort -V | tail -1)
bin=/usr/lib/postgresql/$ver/bin
hba=/etc/postgresql/$ver/main/pg_hba.conf

as_pg() { runuser -u postgres -- "$@"; }
# Over the Unix socket (peer auth as postgres), which works whatever pg_hba says for TCP.
primary_sql() { as_pg psql -p "$PRIMARY_PORT" -d postgres -XtAc "$1"; }
replica_sql() { as_pg psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -XtAc "$1" 2>/dev/null; }
replica_running() { as_pg "$bin/pg_ctl" -D "$REPLICA_DIR" status >/dev/null 2>&1; }

stop_replica() {
  if replica_running; then as_pg "$bin/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null; fi
}

# Streaming once the primary lists our walreceiver as such.
streaming() {
  local n
  n=$(primary_sql "select count(*) from pg_stat_replication where application_name = '$REPLICA_NAME' and state = 'streaming'" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 1 ]
}

wait_streaming() {
  for _ in $(seq 1 "$(($1 * 2))"); do
    streaming && return 0
    sleep 0.5
  done
  return 1
}

port_open "$PRIMARY_PORT" || { echo "PostgreSQL is not running on $PRIMARY_PORT; run scripts/services/core.sh first" >&2; exit 1; }

# 1. The primary accepts replication connections from loopback (pg_hba is first match, so prepend).
wal_level=$(primary_sql 'show wal_level')
if [ "$wal_level" = minimal ]; then
  echo "the primary runs with wal_level=minimal; set wal_level=replica and restart it" >&2
  exit 1
fi
if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  sed -i '1i host replication all 127.0.0.1/32 trust' "$hba"
  primary_sql 'select pg_reload_conf()' >/dev/null
  echo "allowed replication connections from 127.0.0.1 in $hba"
fi

# 2. Already a healthy replica of this primary? Then there is nothing to do.
if replica_running && [ "$(replica_sql 'select pg_is_in_recovery()')" = t ] && wait_streaming 5; then
  echo "PostgreSQL replica: already streaming on 127.0.0.1:$REPLICA_PORT"
  exit 0
fi
if ! replica_running && port_open "$REPLICA_PORT"; then
  echo "port $REPLICA_PORT is taken by something other than the replica in $REPLICA_DIR" >&2
  exit 1
fi

# 3. Keep an existing copy only if it is complete and was taken from this very primary.
primary_id=$(primary_sql 'select system_identifier from pg_control_system()')
usable_copy() {
  [ -f "$REPLICA_DIR/PG_VERSION" ] && [ -f "$REPLICA_DIR/standby.signal" ] && [ -f "$REPLICA_DIR/postgresql.conf" ] || return 1
  local id
  id=$(as_pg "$bin/pg_controldata" "$REPLICA_DIR" 2>/dev/null | sed -n 's/^Database system identifier:[[:space:]]*//p')
  [ "$id" = "$primary_id" ]
}

base_backup() {
  stop_replica
  rm -rf "$REPLICA_DIR"
  install -d -o postgres -g postgres -m 700 "$REPLICA_DIR"
  echo "taking a base backup of 127.0.0.1:$PRIMARY_PORT into $REPLICA_DIR"
  as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$REPLICA_DIR" -R -X stream -c fast
  # Debian keeps postgresql.conf and pg_hba.conf outside the data directory, so the copy has
  # neither. A hot standby needs these limits at least as high as the primary's.
  local setting
  {
    echo "# written by scripts/services/postgres-replica.sh"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $REPLICA_PORT"
    echo "unix_socket_directories = '/var/run/postgresql'"
    echo "cluster_name = '$REPLICA_NAME'"
    echo "hot_standby = on"
    echo "hot_standby_feedback = on"
    for setting in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
      echo "$setting = $(primary_sql "show $setting")"
    done
  } >"$REPLICA_DIR/postgresql.conf"
  printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust' >"$REPLICA_DIR/pg_hba.conf"
  : >"$REPLICA_DIR/pg_ident.conf"
  chown postgres:postgres "$REPLICA_DIR"/postgresql.conf "$REPLICA_DIR"/pg_hba.conf "$REPLICA_DIR"/pg_ident.conf
  # primary_conninfo written by -R names no application; the walreceiver then uses cluster_name.
}

start_replica() {
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  install -d -o postgres -g postgres "$(dirname "$REPLICA_LOG")"
  replica_running || as_pg "$bin/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_LOG" -w -t 60 start >/dev/null
  wait_port "$REPLICA_PORT" 60 "PostgreSQL replica"
}

if usable_copy; then
  start_replica
  # A replica stopped for long may need WAL the primary has recycled; then only a new copy helps.
  if ! wait_streaming 30; then
    echo "the existing replica does not catch up with the primary; rebuilding it"
    base_backup
    start_replica
  fi
else
  base_backup
  start_replica
fi

wait_streaming 60 || { echo "the replica on $REPLICA_PORT started but does not stream from the primary; see $REPLICA_LOG" >&2; exit 1; }
[ "$(replica_sql 'select pg_is_in_recovery()')" = t ] || { echo "the server on $REPLICA_PORT is not in recovery" >&2; exit 1; }
echo "PostgreSQL replica: streaming from 127.0.0.1:$PRIMARY_PORT on 127.0.0.1:$REPLICA_PORT ($REPLICA_DIR)"
