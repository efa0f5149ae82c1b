#!/usr/bin/env bash
# Daily logical dump of the Parley database (custom format, compressed, restorable table by table).
#   DATABASE_URL=postgres://… BACKUP_DIR=/var/backups/parley scripts/backup/pg-dump.sh
# Writes $BACKUP_DIR/pg-dump/<stamp>.dump and prints its path. Prunes dumps older than KEEP_DAYS.
source "$(dirname "$0")/lib.sh"
need pg_dump postgresql-client
: "${DATABASE_URL:?DATABASE_URL is required}"
out="$BACKUP_DIR/pg-dump"
mkdir -p "$out"
file="$out/$STAMP.dump"
log "pg_dump → $file"
pg_dump --dbname="$DATABASE_URL" --format=custom --compress=6 --no-owner --no-privileges --file="$file.partial"
mv "$file.partial" "$file"
prune "$out"
echo "$file"
