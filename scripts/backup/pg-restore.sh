#!/usr/bin/env bash
# Restores a logical dump into a database, which is created when missing and must be empty.
#   TARGET_URL=postgres://…/parley scripts/backup/pg-restore.sh /var/backups/parley/pg-dump/<stamp>.dump
# ADMIN_URL (default: TARGET_URL with database "postgres") is used to create the database.
source "$(dirname "$0")/lib.sh"
need pg_restore postgresql-client
need psql postgresql-client
dump="${1:?usage: pg-restore.sh DUMP_FILE}"
: "${TARGET_URL:?TARGET_URL is required}"
[ -f "$dump" ] || die "no dump at $dump"
dbname="$(node -e 'console.log(decodeURIComponent(new URL(process.argv[1]).pathname.slice(1)))' "$TARGET_URL")"
ADMIN_URL="${ADMIN_URL:-$(node -e 'const u=new URL(process.argv[1]);u.pathname="/postgres";console.log(u.toString())' "$TARGET_URL")}"
exists="$(psql "$ADMIN_URL" -Atc "select 1 from pg_database where datname = '${dbname//\'/\'\'}'")"
if [ "$exists" != "1" ]; then
  log "creating database $dbname"
  psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -qc "create database \"${dbname//\"/\"\"}\""
fi
tables="$(psql "$TARGET_URL" -Atc "select count(*) from pg_tables where schemaname not in ('pg_catalog','information_schema')")"
[ "$tables" = "0" ] || die "database $dbname is not empty ($tables tables); restore into a new database and switch DATABASE_URL"
log "pg_restore $dump → $dbname"
pg_restore --dbname="$TARGET_URL" --no-owner --no-privileges --exit-on-error --jobs="${JOBS:-2}" "$dump"
log "restored"
