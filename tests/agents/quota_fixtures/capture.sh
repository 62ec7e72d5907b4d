#!/usr/bin/env bash
# Re-captures this folder: the real claude, codex and gemini CLIs answered 429 and 403 by
# shared/tools/fake_model_api.py (--fail N), set up as shared/fixtures/agent-cli/README.md says
# (retries off: CLAUDE_CODE_MAX_RETRIES=0, codex max_retries 0, gemini maxAttempts 1 and -m so
# its router, which retries a 429 until killed, is skipped). Run with the CLIs on PATH.
set -u
here=$(cd "$(dirname "$0")" && pwd)
fake=${SPECKIT_SHARED:-/work/shared}/tools/fake_model_api.py
npm=$(dirname "$(command -v claude)")
tmp=$(mktemp -d)
mkdir -p "$tmp/home/.gemini" "$tmp/work" "$tmp/tmpdir"
echo '{"general":{"enableAutoUpdate":false,"enableAutoUpdateNotification":false,"maxAttempts":1},"privacy":{"usageStatisticsEnabled":false},"telemetry":{"enabled":false},"security":{"auth":{"selectedType":"gemini-api-key"}}}' >"$tmp/home/.gemini/settings.json"
: >"$here/exit-codes.txt"
for status in 429 403; do
  port=$((18900 + status % 100))
  python3 "$fake" "$port" --fail "$status" --log "$tmp/log-$status.jsonl" 2>/dev/null &
  server=$!
  sleep 1
  base=(env -i "PATH=$npm:/usr/bin:/bin" "HOME=$tmp/home" LANG=C.UTF-8 "TMPDIR=$tmp/tmpdir")
  cd "$tmp/work"
  "${base[@]}" ANTHROPIC_BASE_URL=http://127.0.0.1:$port ANTHROPIC_API_KEY=sk-test-dummy \
    CLAUDE_CODE_MAX_RETRIES=0 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 \
    timeout 60 claude -p --output-format json 'say hi' </dev/null \
    >"$here/claude-http-$status.json" 2>"$here/claude-http-$status.stderr.txt"
  echo "claude-http-$status $?" >>"$here/exit-codes.txt"
  codex_home="$tmp/home/.codex-$port"
  mkdir -p "$codex_home"
  printf 'model_provider = "fake"\n\n[model_providers.fake]\nname = "fake"\nbase_url = "http://127.0.0.1:%s/v1"\nwire_api = "responses"\nenv_key = "FAKE_OPENAI_API_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n' "$port" >"$codex_home/config.toml"
  "${base[@]}" CODEX_HOME="$codex_home" FAKE_OPENAI_API_KEY=sk-test-dummy \
    timeout 60 codex exec --json --skip-git-repo-check -s read-only - <<<'say hi' \
    >"$here/codex-http-$status.events.jsonl" 2>"$here/codex-http-$status.stderr.txt"
  echo "codex-http-$status $?" >>"$here/exit-codes.txt"
  "${base[@]}" GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:$port GEMINI_API_KEY=dummy \
    GEMINI_CLI_TRUST_WORKSPACE=true \
    timeout 60 gemini -p 'say hi' -o json -m gemini-2.5-flash </dev/null \
    >"$here/gemini-http-$status.json" 2>"$here/gemini-http-$status.stderr.txt"
  echo "gemini-http-$status $?" >>"$here/exit-codes.txt"
  cd "$here"
  kill "$server"
done
# the temp dir and the npm prefix are replaced, as in the shared fixtures
sed -i -e "s#$tmp#<TMP>#g" -e "s#$(dirname "$npm")#<NPM_AGENTS>#g" "$here"/*.json "$here"/*.jsonl "$here"/*.txt
find "$here" -type f -empty -delete
rm -rf "$tmp"
