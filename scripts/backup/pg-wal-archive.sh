#!/usr/bin/env bash
# archive_command for continuous WAL archiving (RPO = archive_timeout, 60 s recommended):
#   archive_mode = on
#   archive_timeout = 60
#   archive_command = '/opt/parley/scripts/backup/pg-wal-archive.sh %p %f'
# Copies one WAL segment to $WAL_ARCHIVE_DIR (default $BACKUP_DIR/wal) atomically; refuses to
# overwrite a different file of the same name (PostgreSQL then retries and raises a warning).
set -euo pipefail
src="${1:?usage: pg-wal-archive.sh %p %f}"
name="${2:?usage: pg-wal-archive.sh %p %f}"
dir="${WAL_ARCHIVE_DIR:-${BACKUP_DIR:-/var/backups/parley}/wal}"
mkdir -p "$dir"
if [ -f "$dir/$name" ]; then
  cmp -s "$src" "$dir/$name" && exit 0
  echo "WAL $name already archived with different content" >&2
  exit 1
fi
# Not "$name.partial": PostgreSQL archives files of that name itself (the last, partial segment
# of the old timeline when a standby is promoted), and a copy cut short would then block it.
tmp="$dir/.$name.tmp"
cp "$src" "$tmp"
sync "$tmp" 2>/dev/null || true
mv "$tmp" "$dir/$name"
sync "$dir" 2>/dev/null || true
