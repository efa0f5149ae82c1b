#!/usr/bin/env bash
# Object storage (media, reports) to and from a backup directory, through Parley's storage port,
# so it works the same on local disk and on S3 and verifies every object's integrity on the way.
#   scripts/backup/objects.sh backup  [DIR]   # default DIR: $BACKUP_DIR/objects/<stamp>
#   scripts/backup/objects.sh restore DIR
# Reads the same environment as the server (S3_*, DATA_DIR, STORAGE_MASTER_KEY).
source "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cmd="${1:?usage: objects.sh backup|restore [DIR]}"
dir="${2:-$BACKUP_DIR/objects/$STAMP}"
node --import tsx "$root/apps/server/src/ops/backup-objects.ts" "$cmd" "$dir"
[ "$cmd" = backup ] && prune "$BACKUP_DIR/objects"
echo "$dir"
