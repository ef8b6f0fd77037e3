#!/usr/bin/env bash
# Inside tools/with-service.sh (SIP_URL, SIP_TOKEN): imports FILE, then follows the change feed
# from the start to its head, and prints the throughput of each. Figures are for comparing runs on
# one machine, back to back.
set -euo pipefail
file=$1
auth="Authorization: Bearer $SIP_TOKEN"
lines=$(wc -l <"$file")
size=$(du -h "$file" | cut -f1)
import=$(curl -sf -H "$auth" -H 'Content-Type: application/json' \
  -d '{"source_system": "bench"}' "$SIP_URL/api/v1/imports" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "importing $lines plans ($size of NDJSON, streamed) …"
start=$(date +%s.%N)
curl -sf -H "$auth" -H 'Content-Type: application/x-ndjson' -X POST -T "$file" \
  "$SIP_URL/api/v1/imports/$import/records" >"$file.result"
end=$(date +%s.%N)
python3 - "$file.result" "$start" "$end" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
seconds = float(sys.argv[3]) - float(sys.argv[2])
c = result["counts"]
print(f"import: {c['lines_read']} records in {seconds:.1f} s = {c['lines_read'] / seconds:.0f} plans/s "
      f"(created {c['created']}, updated {c['updated']}, unchanged {c['unchanged']}, failed {c['failed']}; "
      f"status {result['status']})")
if c["failed"] or result["status"] != "completed":
    sys.exit("the bench file should import without failures")
PY
echo "following the change feed from the start …"
python3 - <<'PY'
import json, os, time, urllib.request
url, token = os.environ["SIP_URL"], os.environ["SIP_TOKEN"]
after, events, start = 0, 0, time.time()
while True:
    req = urllib.request.Request(f"{url}/api/v1/events?after={after}&limit=1000",
                                 headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(req))
    events += len(page["items"])
    after = page["next_after"]
    if not page["items"] and after >= page["head"]:
        break
seconds = time.time() - start
print(f"feed: {events} events in {seconds:.1f} s = {events / seconds:.0f} events/s (1000 a page)")
PY
