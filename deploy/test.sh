#!/usr/bin/env bash
# deploy/test.sh -- THE test command (also what CI runs through .ci/run).
# Makes sure Rust, PostgreSQL and NATS (JetStream) are there, then runs
#   cargo fmt --all --check, cargo clippy --workspace --all-targets -- -D warnings,
#   cargo test --workspace
# against the local PostgreSQL (TONGBAN_TEST_DATABASE_URL) and NATS (TONGBAN_TEST_NATS_URL).
# Every step runs even when an earlier one failed; the exit status is non-zero if any failed.
set -euo pipefail

TONGBAN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TONGBAN_REPO"
# shellcheck source=deploy/lib/deps.sh
source deploy/lib/deps.sh

ensure_rust
ensure_lint_tools
ensure_postgres
ensure_nats
export TONGBAN_TEST_DATABASE_URL="$TONGBAN_PG_ADMIN_URL"
export TONGBAN_TEST_NATS_URL=nats://127.0.0.1:4222

mkdir -p var/log
test_log=var/log/cargo-test.log
failed=()

step "cargo fmt --all --check"
cargo fmt --all --check || failed+=(fmt)

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || failed+=(clippy)

step "cargo test --workspace (输出另存 / output also in $test_log)"
cargo test --workspace 2>&1 | tee "$test_log" || failed+=(test)

# Add up libtest's "test result: ok. 12 passed; 0 failed; 1 ignored; ..." lines.
read -r passed failed_tests ignored < <(
  awk '/^test result:/ {
         for (i = 1; i <= NF; i++) {
           if ($(i) ~ /^passed;?$/) p += $(i - 1)
           if ($(i) ~ /^failed;?$/) f += $(i - 1)
           if ($(i) ~ /^ignored;?$/) s += $(i - 1)
         }
       }
       END { print p + 0, f + 0, s + 0 }' "$test_log"
)

if ((${#failed[@]} == 0)); then
  step "全部通过 / all steps passed: fmt, clippy, test"
else
  step "失败的步骤 / failed steps: ${failed[*]}"
fi
printf 'tests: %d passed, %d failed, %d skipped\n' "$passed" "$failed_tests" "$ignored"
((${#failed[@]} == 0))
