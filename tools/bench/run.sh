#!/usr/bin/env bash
# `make bench`: generates BENCH_PLANS plans (default 100,000), imports them into a freshly started
# release build, and follows the change feed over all their events, printing each throughput.
# SQLite by default; DATABASE_URL=postgres://… runs it on PostgreSQL (an empty database).
set -euo pipefail
cd "$(dirname "$0")/../.."
plans=${BENCH_PLANS:-100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "generating $plans plans …"
python3 tools/bench/generate_import.py "$plans" >"$work/plans.ndjson"
SIP_PROFILE=release SIP_ROLES=import,read SIP_UNIT=SE2321000016-PSY1 \
  tools/with-service.sh bash tools/bench/import.sh "$work/plans.ndjson"
