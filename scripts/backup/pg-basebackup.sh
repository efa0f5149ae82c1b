#!/usr/bin/env bash
# Physical base backup for point-in-time recovery: a full copy of the cluster, with the WAL needed
# to make it consistent streamed alongside. Combine with pg-wal-archive.sh (archive_command) to
# replay up to any moment after the backup.
#   REPLICATION_URL=postgres://replicator@primary:5432/postgres scripts/backup/pg-basebackup.sh
# Writes $BACKUP_DIR/pg-base/<stamp>/{base.tar.gz,pg_wal.tar.gz,backup_manifest}.
source "$(dirname "$0")/lib.sh"
need pg_basebackup postgresql-client
: "${REPLICATION_URL:?REPLICATION_URL is required (a role with REPLICATION)}"
out="$BACKUP_DIR/pg-base/$STAMP"
[ ! -e "$out" ] || die "$out already exists"
# Written under .partial and renamed once complete, so an interrupted run never looks like a
# base backup to restore from.
rm -rf "$out.partial"
mkdir -p "$out.partial"
log "pg_basebackup → $out"
pg_basebackup --dbname="$REPLICATION_URL" --pgdata="$out.partial" --format=tar --gzip --wal-method=stream \
  --checkpoint=fast --label="parley-$STAMP" --progress --verbose
mv "$out.partial" "$out"
prune "$BACKUP_DIR/pg-base"
echo "$out"
