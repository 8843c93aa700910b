#!/usr/bin/env bash
# Start the local PostgreSQL cluster and create the test role and database
# (idempotent). Used by .ci/run; handy on a developer machine too (as root).
set -euo pipefail
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q .; then
  pg_createcluster "$ver" main
fi
cluster=$(pg_lsclusters -h | head -1 | awk '{print $1" "$2}')
pg_ctlcluster $cluster start || true
for _ in $(seq 1 30); do
  pg_isready -q -h localhost && break
  sleep 1
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='wushe'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE wushe LOGIN PASSWORD 'wushe' CREATEDB\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='wushe_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O wushe wushe_test"
echo "postgresql://wushe:wushe@localhost:5432/wushe_test"
