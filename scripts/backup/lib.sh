# Shared helpers for the backup scripts. Sourced, not run.
set -euo pipefail

BACKUP_DIR="${BACKUP_DIR:-/var/backups/parley}"
STAMP="${STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}"
KEEP_DAYS="${KEEP_DAYS:-14}"

log() { printf '%s %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed (Debian: apt-get install ${2:-$1})"; }

# Deletes dated entries older than KEEP_DAYS under a directory.
prune() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  find "$dir" -mindepth 1 -maxdepth 1 -mtime "+${KEEP_DAYS}" -print -exec rm -rf {} + >&2 || true
}
