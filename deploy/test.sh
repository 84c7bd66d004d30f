#!/usr/bin/env bash
# deploy/test.sh -- THE test command (also what CI runs through .ci/run).
# Makes sure Rust, PostgreSQL and NATS (>= 2.10, JetStream; see ensure_nats) are there, then runs
#   cargo fmt --all --check, cargo clippy --workspace --all-targets -- -D warnings,
#   cargo test --workspace,
#   tests/contract/run.sh (a Python client generated from proto/ drives the whole scenario)
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
export TONGBAN_TEST_NATS_URL="$TONGBAN_NATS_URL"

mkdir -p var/log
test_log=var/log/cargo-test.log
failed=()

step "cargo fmt --all --check"
cargo fmt --all --check || failed+=(fmt)

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || failed+=(clippy)

step "cargo test --workspace (输出另存 / output also in $test_log)"
cargo test --workspace 2>&1 | tee "$test_log" || failed+=(test)

contract_log=var/log/contract.log
step "契约检查 / contract check: tests/contract/run.sh (输出另存 / output also in $contract_log)"
bash tests/contract/run.sh 2>&1 | tee "$contract_log" || failed+=(contract)

# The console in a real headless Chromium (tests/browser/run.sh installs chromium,
# fonts-wqy-microhei and playwright when missing; screenshots in var/screenshots/console/).
browser_log=var/log/browser.log
step "浏览器测试 / browser test: tests/browser/run.sh (输出另存 / output also in $browser_log)"
TONGBAN_BROWSER_NO_BUILD=1 bash tests/browser/run.sh 2>&1 | tee "$browser_log" || failed+=(browser)

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
# Add the contract check's "contract: N passed, M failed"; no such line at all counts as 1 failed.
read -r contract_passed contract_failed < <(
  awk '/^contract: [0-9]+ passed, [0-9]+ failed$/ { p = $2; f = $4; seen = 1 }
       END { print (seen ? p : 0), (seen ? f : 1) }' "$contract_log"
)
passed=$((passed + contract_passed))
failed_tests=$((failed_tests + contract_failed))
# Add the browser test's "browser: N passed, M failed"; no such line at all counts as 1 failed.
read -r browser_passed browser_failed < <(
  awk '/^browser: [0-9]+ passed, [0-9]+ failed$/ { p = $2; f = $4; seen = 1 }
       END { print (seen ? p : 0), (seen ? f : 1) }' "$browser_log"
)
passed=$((passed + browser_passed))
failed_tests=$((failed_tests + browser_failed))

if ((${#failed[@]} == 0)); then
  step "全部通过 / all steps passed: fmt, clippy, test, contract"
else
  step "失败的步骤 / failed steps: ${failed[*]}"
fi
printf 'tests: %d passed, %d failed, %d skipped\n' "$passed" "$failed_tests" "$ignored"
((${#failed[@]} == 0))
