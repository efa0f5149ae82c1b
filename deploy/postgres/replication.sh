#!/bin/bash
# Lets the replica connect for streaming replication (runs once, at the primary's first start).
set -e
echo "host replication parley all scram-sha-256" >> "$PGDATA/pg_hba.conf"
