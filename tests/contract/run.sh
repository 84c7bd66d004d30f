#!/usr/bin/env bash
# tests/contract/run.sh -- the contract check of issue 2: a client generated from proto/ by
# another language's tooling (Python, grpcio-tools) drives the whole scenario (scenario.py).
#
# Builds the debug binaries (already built when run after `cargo test`), then starts
# target/debug/tongban-intake, -review and -hotline on free random ports against their own
# fresh database tb_contract_<random>, stream TBC_<random>, subject root tbc_<random> and state
# directory, serving gRPC over TLS with certificates of deploy/lib/tls.sh (clients verify with
# its CA), runs scenario.py, and always (trap) stops the services, drops the database
# (WITH (FORCE)), deletes the stream and removes the state directory.
# The last line on stdout is scenario.py's `contract: N passed, M failed` (clean-up talks on stderr).
# TONGBAN_CONTRACT_NO_BUILD=1 skips the build and uses the binaries already in target/debug.
# Standalone: `bash tests/contract/run.sh` (starts PostgreSQL/NATS itself when they are not running).
set -euo pipefail

TONGBAN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TONGBAN_REPO"
# shellcheck source=deploy/lib/deps.sh
source deploy/lib/deps.sh

CONTRACT_DIR="$TONGBAN_REPO/tests/contract"
BIN_DIR="${CARGO_TARGET_DIR:-$TONGBAN_REPO/target}/debug"
SERVICES=(intake review hotline)

if [ -z "${TONGBAN_PG_ADMIN_URL:-}" ] || [ -z "${TONGBAN_NATS_URL:-}" ]; then
  ensure_rust
  ensure_postgres
  ensure_nats
fi

step "Python 依赖 / Python dependencies (tests/contract/requirements.txt)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  -r "$CONTRACT_DIR/requirements.txt" ||
  die "无法安装 Python 依赖 / could not install the Python dependencies"

if [ -n "${TONGBAN_CONTRACT_NO_BUILD:-}" ]; then
  step "跳过构建 / skipping cargo build (TONGBAN_CONTRACT_NO_BUILD), using $BIN_DIR"
else
  step "cargo build --bins"
  cargo build --bins
fi

id=$(tr -dc 'a-z0-9' </dev/urandom | head -c 12 || true)
database="tb_contract_$id"
stream="TBC_$id"
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/tongban-contract-XXXXXX")
declare -A pids=()

# cleanup: stop what this script started, drop its database, delete its stream, remove its files.
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
  python3 "$CONTRACT_DIR/delete_stream.py" "$TONGBAN_NATS_URL" "$stream" >&2 || status=1
  rm -rf "$work_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port: a random high port nobody listens on, not one already chosen by this script.
chosen_ports=" "
free_port() {
  local port tries=0
  while ((tries < 100)); do
    port=$((20000 + RANDOM % 40000))
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
export TONGBAN_SUBJECT_ROOT="tbc_$id"
export TONGBAN_DEPLOY_DIR="$TONGBAN_REPO/deploy"
export TONGBAN_STATE_DIR="$work_dir/state"
export TONGBAN_CLI="$BIN_DIR/tongban"
# Run as of a fixed working Monday, so the time limits never depend on the day the check runs
# and never run past the holiday data shipped in deploy/data/holidays/.
export TONGBAN_AS_OF="${TONGBAN_AS_OF:-2026-11-02T09:00:00+08:00}"
mkdir -p "$TONGBAN_STATE_DIR"
# gRPC over TLS as deploy/up.sh serves it: a CA and a certificate per service, made by the same
# script; the Python client and the CLI verify with the CA.
step "TLS 证书 / TLS certificates (deploy/lib/tls.sh)"
bash deploy/lib/tls.sh "$TONGBAN_STATE_DIR/tls" "${SERVICES[@]}" ||
  die "无法生成 TLS 证书 / cannot make the TLS certificates"
export TONGBAN_TLS_CA="$TONGBAN_STATE_DIR/tls/ca.pem"

declare -A ports=()
for svc in "${SERVICES[@]}"; do
  ports[$svc]=$(free_port)
  upper=${svc^^}
  export "TONGBAN_${upper}_ADDR=127.0.0.1:${ports[$svc]}"
  export "TONGBAN_${upper}_URL=https://127.0.0.1:${ports[$svc]}"
done

for svc in "${SERVICES[@]}"; do
  bin="$BIN_DIR/tongban-$svc"
  [ -x "$bin" ] || die "找不到 / not found: $bin (cargo build --bins)"
  step "启动 / starting tongban-$svc on https://127.0.0.1:${ports[$svc]} (log $work_dir/$svc.log)"
  TONGBAN_TLS_CERT="$TONGBAN_STATE_DIR/tls/$svc.pem" TONGBAN_TLS_KEY="$TONGBAN_STATE_DIR/tls/$svc.key" \
    "$bin" >"$work_dir/$svc.log" 2>&1 </dev/null &
  pids[$svc]=$!
done

# await: each service's port within 60 s, or its log tail and failure.
for svc in "${SERVICES[@]}"; do
  waited=0
  until port_open 127.0.0.1 "${ports[$svc]}"; do
    if ! kill -0 "${pids[$svc]}" 2>/dev/null || ((waited >= 600)); then
      tail -n 30 "$work_dir/$svc.log" >&2 || true
      die "tongban-$svc 未能启动 / did not start listening on :${ports[$svc]} (log above)"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  step "tongban-$svc 就绪 / ready on :${ports[$svc]}"
done

step "运行契约场景 / running tests/contract/scenario.py"
if ! python3 "$CONTRACT_DIR/scenario.py"; then
  for svc in "${SERVICES[@]}"; do
    printf -- '--- tongban-%s log (tail) ---\n' "$svc" >&2
    tail -n 20 "$work_dir/$svc.log" >&2 || true
  done
  exit 1
fi
