#!/usr/bin/env bash
# The API with curl alone: submit, then poll the Location, waiting Retry-After seconds between
# polls, until it answers 200; then print the job. Gives up (exit 3) after TIMEOUT seconds.
# ASYNC_JOBS_URL names the API (default: the local runtime, http://127.0.0.1:3000).
set -euo pipefail
base="${ASYNC_JOBS_URL:-http://127.0.0.1:3000}"
deadline=$((SECONDS + ${TIMEOUT:-60}))
headers=$(mktemp) body=$(mktemp)
trap 'rm -f "$headers" "$body"' EXIT
header() { grep -i "^$1:" "$headers" | head -n 1 | cut -d ' ' -f 2- | tr -d '\r'; }

# Submit. 202 means accepted, not done. The Idempotency-Key makes a retry of this request safe.
code=$(curl -sS -o "$body" -D "$headers" -w '%{http_code}' -X POST "$base/jobs" \
  -H 'content-type: application/json' -H "idempotency-key: curl-example-$(date +%s)-$$" \
  -d '{"type":"sleep","input":{"seconds":2}}')
if [ "$code" != 202 ]; then echo "submit answered $code: $(cat "$body")" >&2; exit 1; fi
location=$(header location)
echo "accepted: $location"

# Poll the Location until 200, waiting what Retry-After says (1 s when absent).
while :; do
  retry_after=$(header retry-after || true)
  sleep "${retry_after:-1}"
  code=$(curl -sS -o "$body" -D "$headers" -w '%{http_code}' "$base$location")
  case "$code" in
    200) break ;;
    202) echo "not done: $(grep -o '"status":"[A-Z]*"' "$body")" ;;
    *) echo "poll answered $code: $(cat "$body")" >&2; exit 1 ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then echo "still running; look again later: $base$location" >&2; exit 3; fi
done

# 200 is a final answer, but not always success: read status.
case "$(grep -o '"status":"[A-Z]*"' "$body" | head -n 1)" in
  *SUCCEEDED*) echo "succeeded: $(cat "$body")" ;;
  *) echo "ended without success: $(cat "$body")"; exit 1 ;;
esac
