#!/usr/bin/env bash
# Copies a point-in-time RDB snapshot of Redis (cache, rate-limit counters, connection sets) over
# the network: `redis-cli --rdb` asks the server for a fresh snapshot and streams it here.
#   REDIS_URL=redis://redis:6379/0 scripts/backup/redis-snapshot.sh
# Writes $BACKUP_DIR/redis/<stamp>.rdb. Restore: stop Redis, put the file at its `dir`/`dbfilename`,
# start Redis. Parley keeps nothing in Redis that the database cannot rebuild: losing it logs
# users out of live views and resets rate limits, no data is lost.
source "$(dirname "$0")/lib.sh"
need redis-cli redis-tools
: "${REDIS_URL:?REDIS_URL is required}"
out="$BACKUP_DIR/redis"
mkdir -p "$out"
file="$out/$STAMP.rdb"
redis-cli -u "$REDIS_URL" --rdb "$file.partial" >&2
mv "$file.partial" "$file"
prune "$out"
echo "$file"
