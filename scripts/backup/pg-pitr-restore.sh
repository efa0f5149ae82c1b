#!/usr/bin/env bash
# Point-in-time recovery: turns a base backup (pg-basebackup.sh) into a new data directory that,
# when PostgreSQL 15 starts on it, fetches WAL from the archive (pg-wal-archive.sh), replays it up
# to the target and is promoted to a primary on a new timeline.
#   WAL_ARCHIVE_DIR=/var/backups/parley/wal RECOVERY_TARGET_TIME='2026-11-29 03:10:00+00' \
#     scripts/backup/pg-pitr-restore.sh /var/backups/parley/pg-base/<stamp> /var/lib/postgresql/15/main
# Without RECOVERY_TARGET_TIME everything archived is replayed. RECOVERY_TARGET_TIMELINE
# (PostgreSQL's default: latest) picks the history to follow when the archive holds several.
# The data directory must be absent or empty: move the old one aside first. Run as root, the
# files are given to PG_OS_USER (default postgres). Then start PostgreSQL on the directory and
# wait for "archive recovery complete" in its log.
source "$(dirname "$0")/lib.sh"
need tar
usage="usage: pg-pitr-restore.sh BASE_BACKUP_DIR PGDATA"
base="${1:?$usage}"
pgdata="${2:?$usage}"
archive="${WAL_ARCHIVE_DIR:-$BACKUP_DIR/wal}"
os_user="${PG_OS_USER:-postgres}"

[ -f "$base/base.tar.gz" ] && [ -f "$base/pg_wal.tar.gz" ] ||
  die "$base is not a pg-basebackup.sh backup (base.tar.gz and pg_wal.tar.gz expected)"
for tarball in "$base"/*.tar.gz; do
  case "$(basename "$tarball")" in
    base.tar.gz | pg_wal.tar.gz) ;;
    *) die "$base holds a tablespace ($tarball); this script restores clusters without tablespaces" ;;
  esac
done
[ -d "$archive" ] || die "no WAL archive at $archive (set WAL_ARCHIVE_DIR)"
archive="$(cd "$archive" && pwd)"
# restore_command is run by a shell and expands %-escapes, so the path goes in as it is.
[[ "$archive" =~ ^[A-Za-z0-9/._+-]+$ ]] || die "WAL archive path $archive has characters restore_command cannot carry"
if [ -e "$pgdata" ] && [ -n "$(ls -A "$pgdata")" ]; then
  die "$pgdata is not empty; move it aside (or pick a new directory) and run again"
fi

log "unpacking $base → $pgdata"
mkdir -p "$pgdata"
chmod 700 "$pgdata"
tar -xzf "$base/base.tar.gz" -C "$pgdata"
mkdir -p "$pgdata/pg_wal"
tar -xzf "$base/pg_wal.tar.gz" -C "$pgdata/pg_wal"
[ -f "$pgdata/PG_VERSION" ] || die "$base/base.tar.gz holds no data directory"
# A copy of a standby would start as a standby again and never promote.
rm -f "$pgdata/standby.signal"

# postgresql.auto.conf is read from the data directory even where postgresql.conf lives elsewhere
# (Debian: /etc/postgresql), and its last word wins.
quote() { printf "'%s'" "${1//\'/\'\'}"; }
{
  echo "# point-in-time recovery, written by scripts/backup/pg-pitr-restore.sh from $base"
  echo "restore_command = $(quote "cp $archive/%f %p")"
  if [ -n "${RECOVERY_TARGET_TIME:-}" ]; then
    echo "recovery_target_time = $(quote "$RECOVERY_TARGET_TIME")"
    echo "recovery_target_action = 'promote'"
  fi
  if [ -n "${RECOVERY_TARGET_TIMELINE:-}" ]; then
    echo "recovery_target_timeline = $(quote "$RECOVERY_TARGET_TIMELINE")"
  fi
} >>"$pgdata/postgresql.auto.conf"
touch "$pgdata/recovery.signal"
if [ "$(id -u)" = 0 ]; then chown -R "$os_user:" "$pgdata"; fi
log "ready: start PostgreSQL on $pgdata; it replays WAL from $archive${RECOVERY_TARGET_TIME:+ up to $RECOVERY_TARGET_TIME} and promotes"
echo "$pgdata"
