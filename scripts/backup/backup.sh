#!/usr/bin/env bash
# The nightly job: logical dump, Redis snapshot (when REDIS_URL is set), object storage copy.
# Base backups (pg-basebackup.sh) run weekly; WAL archiving runs continuously from PostgreSQL.
#   DATABASE_URL=… [REDIS_URL=…] [S3_…] BACKUP_DIR=/var/backups/parley scripts/backup/backup.sh
source "$(dirname "$0")/lib.sh"
here="$(dirname "$0")"
export STAMP
"$here/pg-dump.sh"
if [ -n "${REDIS_URL:-}" ]; then "$here/redis-snapshot.sh"; fi
"$here/objects.sh" backup
log "backup $STAMP complete in $BACKUP_DIR"
