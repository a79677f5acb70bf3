#!/usr/bin/env bash
# The async-jobs CLI in a shell script: submit and wait, and branch on the exit code.
#   0 succeeded · 1 failed or cancelled · 2 usage · 3 --timeout passed (the job goes on) · 4 API error
# ASYNC_JOBS_URL names the API (default: the local runtime, http://127.0.0.1:3000).
set -uo pipefail
cd "$(dirname "$0")/.."
async_jobs() { npx --no-install async-jobs "$@"; }
# Prints one member of the JSON job in $out (jq -r would do too).
member() { node -p "const v = JSON.parse(require('fs').readFileSync('$out', 'utf8'))$1; typeof v === 'string' ? v : JSON.stringify(v)"; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# 1. Submit and wait: stdout is the final job, the exit code says how it ended.
async_jobs submit --type echo --input '{"greeting":"hello"}' --wait --timeout 60 > "$out"
code=$?
echo "echo: exit $code, status $(member .status), result $(member .result)"

# 2. A job that fails is a final answer (exit 1), with the reason in error.detail.
async_jobs submit --type fail --input '{"message":"card declined"}' --wait --timeout 60 > "$out"
code=$?
echo "fail: exit $code, status $(member .status), detail $(member .error.detail)"

# 3. Submit without waiting; stop waiting after 1 s (exit 3: the job goes on); cancel it.
async_jobs submit --type sleep --input '{"seconds":30}' > "$out"
id=$(member .id)
echo "sleep: submitted, status $(member .status)"
async_jobs wait "$id" --timeout 1 > "$out"
code=$?
echo "sleep: wait exit $code, still $(member .status)"
async_jobs cancel "$id" > "$out"
code=$?
echo "sleep: cancel exit $code"
async_jobs wait "$id" --timeout 30 > "$out"
code=$?
echo "sleep: wait exit $code, status $(member .status)"
