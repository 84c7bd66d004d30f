#!/usr/bin/env bash
# tests/browser/run.sh -- the console's browser test: a real headless Chromium (Debian's
# `chromium`, driven by Playwright from PyPI with executable_path; no browser is ever
# downloaded) clicks through the window clerk's flow, the missing-material path, the
# reviewer's live inbox, claim and approval, the 12345 lookup with a wrong proof and the
# public pages, and saves a screenshot of each screen under var/screenshots/console/.
#
# Installs what it needs idempotently (apt: chromium, fonts-wqy-microhei; pip: playwright;
# npm: axe-core for the accessibility audit of every screen),
# builds the debug binaries, then starts tongban-intake, -review, -hotline, -supervision and
# -console on free
# random ports against their own fresh database tb_browser_<random>, stream TBB_<random>,
# subject root tbb_<random> and state directory, runs console_flow.py, and always (trap) stops
# the services, drops the database, deletes the stream and removes the state directory.
# The last line on stdout is console_flow.py's `browser: N passed, M failed`.
# TONGBAN_BROWSER_NO_BUILD=1 skips the build and uses the binaries already in target/debug.
set -euo pipefail

TONGBAN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TONGBAN_REPO"
# shellcheck source=deploy/lib/deps.sh
source deploy/lib/deps.sh

BROWSER_DIR="$TONGBAN_REPO/tests/browser"
BIN_DIR="${CARGO_TARGET_DIR:-$TONGBAN_REPO/target}/debug"
SERVICES=(intake review hotline supervision)
export TONGBAN_SCREENSHOTS="${TONGBAN_SCREENSHOTS:-$TONGBAN_REPO/var/screenshots/console}"

if [ -z "${TONGBAN_PG_ADMIN_URL:-}" ] || [ -z "${TONGBAN_NATS_URL:-}" ]; then
  ensure_rust
  ensure_postgres
  ensure_nats
fi

if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  step "安装 / installing chromium and fonts-wqy-microhei (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi
if ! python3 -c 'import playwright.sync_api' 2>/dev/null; then
  step "安装 / installing playwright (pip; the browser is Debian's chromium, never downloaded)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r "$BROWSER_DIR/requirements.txt"
fi

# axe-core (npm) for the accessibility audit, kept under var/ (not committed).
export TONGBAN_AXE_JS="$TONGBAN_REPO/var/browser-deps/node_modules/axe-core/axe.min.js"
if [ ! -f "$TONGBAN_AXE_JS" ]; then
  step "安装 / installing axe-core (npm) into var/browser-deps"
  command -v npm >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  }
  mkdir -p "$TONGBAN_REPO/var/browser-deps"
  npm install --silent --no-save --no-audit --no-fund --prefix "$TONGBAN_REPO/var/browser-deps" \
    axe-core@4.14
fi

if [ -n "${TONGBAN_BROWSER_NO_BUILD:-}" ]; then
  step "跳过构建 / skipping cargo build (TONGBAN_BROWSER_NO_BUILD), using $BIN_DIR"
else
  step "cargo build -p tongban-intake -p tongban-review -p tongban-hotline -p tongban-supervision -p tongban-console --bins"
  cargo build -p tongban-intake -p tongban-review -p tongban-hotline -p tongban-supervision \
    -p tongban-console --bins
fi

id=$(tr -dc 'a-z0-9' </dev/urandom | head -c 12 || true)
database="tb_browser_$id"
stream="TBB_$id"
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/tongban-browser-XXXXXX")
declare -A pids=()

cleanup() {
  local status=$? svc pid tenths
  trap - EXIT INT TERM
  for svc in "${!pids[@]}"; do
    kill -TERM "${pids[$svc]}" 2>/dev/null || true
  done
  for svc in "${!pids[@]}"; do
    pid=${pids[$svc]}
    tenths=0
    while kill -0 "$pid" 2>/dev/null && ((tenths < 100)); do
      sleep 0.1
      tenths=$((tenths + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      warn "tongban-$svc 10 秒内未退出，强制结束 / did not stop within 10 s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  psql -w -X -q "$TONGBAN_PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" ||
    { warn "无法删除数据库 / could not drop database $database"; status=1; }
  python3 "$TONGBAN_REPO/tests/contract/delete_stream.py" "$TONGBAN_NATS_URL" "$stream" >&2 || status=1
  rm -rf "$work_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port: a random port below the kernel's ephemeral range (32768 and up by default), so that
# no outgoing connection takes it between the choice and the bind.
chosen_ports=" "
free_port() {
  local port tries=0
  while ((tries < 100)); do
    port=$((20000 + RANDOM % 12000))
    if [[ $chosen_ports != *" $port "* ]] && ! port_open 127.0.0.1 "$port"; then
      chosen_ports+="$port "
      printf '%s\n' "$port"
      return 0
    fi
    tries=$((tries + 1))
  done
  die "找不到空闲端口 / no free port found"
}

step "创建数据库 / creating database $database; stream $stream"
psql -w -X -q "$TONGBAN_PG_ADMIN_URL" -c "CREATE DATABASE $database"

export TONGBAN_DATABASE_URL="${TONGBAN_PG_ADMIN_URL%/postgres}/$database"
export TONGBAN_NATS_URL
export TONGBAN_STREAM="$stream"
export TONGBAN_SUBJECT_ROOT="tbb_$id"
export TONGBAN_DEPLOY_DIR="$TONGBAN_REPO/deploy"
export TONGBAN_STATE_DIR="$work_dir/state"
mkdir -p "$TONGBAN_STATE_DIR"

declare -A ports=()
for svc in "${SERVICES[@]}" console; do
  ports[$svc]=$(free_port)
  upper=${svc^^}
  export "TONGBAN_${upper}_ADDR=127.0.0.1:${ports[$svc]}"
  export "TONGBAN_${upper}_URL=http://127.0.0.1:${ports[$svc]}"
done

# await SVC: its port within 60 s, or its log tail and failure.
await() {
  local svc=$1 waited=0
  until port_open 127.0.0.1 "${ports[$svc]}"; do
    if ! kill -0 "${pids[$svc]}" 2>/dev/null || ((waited >= 600)); then
      # The log's last lines without backtrace frames, so the reason shows.
      grep -Ev '^ +([0-9]+: |at )' "$work_dir/$svc.log" | tail -n 30 >&2 || true
      die "tongban-$svc 未能启动 / did not start listening on :${ports[$svc]} (log above)"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  step "tongban-$svc 就绪 / ready on :${ports[$svc]}"
}

for svc in "${SERVICES[@]}" console; do
  bin="$BIN_DIR/tongban-$svc"
  [ -x "$bin" ] || die "找不到 / not found: $bin (cargo build --bins)"
  step "启动 / starting tongban-$svc on 127.0.0.1:${ports[$svc]} (log $work_dir/$svc.log)"
  "$bin" >"$work_dir/$svc.log" 2>&1 </dev/null &
  pids[$svc]=$!
  # The first service creates the deployment's token key; the others load it.
  await "$svc"
done

export TONGBAN_CONSOLE_URL="http://localhost:${ports[console]}"
mkdir -p "$TONGBAN_SCREENSHOTS"
step "运行浏览器测试 / running tests/browser/console_flow.py (screenshots in $TONGBAN_SCREENSHOTS)"
if ! timeout 180 python3 "$BROWSER_DIR/console_flow.py"; then
  for svc in "${SERVICES[@]}" console; do
    printf -- '--- tongban-%s log (tail) ---\n' "$svc" >&2
    tail -n 20 "$work_dir/$svc.log" >&2 || true
  done
  exit 1
fi
