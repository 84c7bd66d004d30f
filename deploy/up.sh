#!/usr/bin/env bash
# deploy/up.sh -- THE start command: builds tongban, makes sure PostgreSQL and NATS (JetStream)
# run, creates database tongban, (re)starts tongban-intake, tongban-review and tongban-hotline
# in the background and runs deploy/demo.sh when it exists. Stop with deploy/down.sh.
# Logs: var/log/<svc>.log; pids: var/run/<svc>.pid; service state: var/state.
set -euo pipefail

TONGBAN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TONGBAN_REPO"
# shellcheck source=deploy/lib/deps.sh
source deploy/lib/deps.sh
# shellcheck source=deploy/lib/svc.sh
source deploy/lib/svc.sh

ensure_rust
ensure_postgres
ensure_nats

step "cargo build --release --bins"
cargo build --release --bins

if [ "$(psql -w -X -Atq "$TONGBAN_PG_ADMIN_URL" -c "select 1 from pg_database where datname = 'tongban'")" != 1 ]; then
  step "创建数据库 / creating database tongban"
  psql -w -X -q "$TONGBAN_PG_ADMIN_URL" -c 'CREATE DATABASE tongban'
fi

export TONGBAN_DATABASE_URL="${TONGBAN_PG_ADMIN_URL%/postgres}/tongban"
export TONGBAN_NATS_URL
export TONGBAN_DEPLOY_DIR="$TONGBAN_REPO/deploy"
export TONGBAN_STATE_DIR="$TONGBAN_REPO/var/state"
mkdir -p "$TONGBAN_STATE_DIR"

stop_services "${TONGBAN_SERVICES[@]}"
# Start all or none: a failure below stops the services already started.
trap 'stop_services "${TONGBAN_SERVICES[@]}"' EXIT
for svc in "${TONGBAN_SERVICES[@]}"; do
  start_service "$svc"
done
for svc in "${TONGBAN_SERVICES[@]}"; do
  await_service "$svc" 60
done
trap - EXIT

if [ -f deploy/demo.sh ]; then
  step "运行演示 / running deploy/demo.sh"
  bash deploy/demo.sh
fi

printf '\n通办服务已启动 / tongban is running:\n'
for svc in "${TONGBAN_SERVICES[@]}"; do
  printf '  %-12s :%s   log var/log/%s.log\n' "$svc" "$(service_port "$svc")" "$svc"
done
cat <<MSG
命令行 / CLI:     ${CARGO_TARGET_DIR:-target}/release/tongban --help
停止 / stop:      deploy/down.sh   (PostgreSQL 与 NATS 保持运行 / PostgreSQL and NATS keep running)
MSG
printf '网页控制台 / web console: http://localhost:%s  (演示账号见 README / demo logins in the README)\n' "$(service_port console)"
