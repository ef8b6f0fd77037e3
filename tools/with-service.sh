#!/usr/bin/env bash
# Runs a command against a freshly started service: builds it, starts it on 127.0.0.1 with an empty
# SQLite database of its own, and exports SIP_URL and SIP_TOKEN (a token of unit SIP_UNIT with the
# roles SIP_ROLES) and SIP_INDIVIDUAL_TOKEN (Lisa's, for /api/v1/me) to the command. The service is stopped afterwards; its log is printed if the
# command fails. Traffic stays on 127.0.0.1: webhooks may go nowhere else.
# SIP_PROFILE=release runs the optimised build; DATABASE_URL, when set, is passed on.
#   usage: tools/with-service.sh COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${SIP_PROFILE:-debug}
bin=target/$profile/sip-service
port=${SIP_PORT:-18089}
if [ "$profile" = release ]; then cargo build --quiet --release; else cargo build --quiet; fi
data=$(mktemp -d)
DATA_DIR="$data" BIND_ADDRESS="127.0.0.1:$port" WEBHOOK_ALLOWED_HOSTS=127.0.0.1 RUST_LOG=warn \
  "$bin" >"$data/service.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done
SIP_URL="http://127.0.0.1:$port"
SIP_TOKEN=$(DATA_DIR="$data" "$bin" token --unit "${SIP_UNIT:-SE2321000016-CLI1}" --principal region \
  --roles "${SIP_ROLES:-read,write}")
# An individual's token too (an e-service after e-ID login), for the /api/v1/me operations: Lisa,
# a published test personnummer.
SIP_INDIVIDUAL_TOKEN=$(DATA_DIR="$data" "$bin" token --individual 19121212-1212)
export SIP_URL SIP_TOKEN SIP_INDIVIDUAL_TOKEN
set +e
"$@"
code=$?
set -e
if [ "$code" -ne 0 ]; then
  echo "--- service log ---"
  cat "$data/service.log"
fi
exit "$code"
