#!/usr/bin/env bash
# Makes sure PostgreSQL 15, Redis 7 and RabbitMQ run on loopback with the settings the real test tier
# expects. Installs from Debian when missing and starts what is stopped; skips what already runs.
# Works as root without systemd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_pkgs=()
command -v pg_ctlcluster >/dev/null || need_pkgs+=(postgresql)
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v rabbitmq-server >/dev/null || need_pkgs+=(rabbitmq-server)
apt_install "${need_pkgs[@]}"

# PostgreSQL: trust auth on loopback, database "test".
if ! port_open 5432; then
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  grep -q '^local all all trust' "$hba" || sed -i '1i local all all trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  wait_port 5432 60 PostgreSQL
fi
runuser -u postgres -- psql -h 127.0.0.1 -tAc "select 1 from pg_database where datname='test'" | grep -q 1 \
  || runuser -u postgres -- createdb -h 127.0.0.1 test

if ! port_open 6379; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379 30 Redis
fi

if ! port_open 5672; then
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 rabbitmq-server -detached
  wait_port 5672 90 RabbitMQ
fi
echo "core services: PostgreSQL, Redis and RabbitMQ are up"
