#!/usr/bin/env bash
# deploy/up.sh -- THE start command: builds tongban, makes sure PostgreSQL and NATS (JetStream)
# run, creates database tongban, (re)starts tongban-intake, tongban-review and tongban-hotline
# in the background and runs deploy/demo.sh when it exists. Stop with deploy/down.sh.
# Logs: var/log/<svc>.log; pids: var/run/<svc>.pid; service state: var/state.
# Transport and database identity: a local CA and one TLS certificate per service in
# var/state/tls (deploy/lib/tls.sh; clients verify with var/state/tls/ca.pem), and one
# PostgreSQL role per service, tongban_<svc>, with rights on its own schema only and an audit
# log it can only add to (deploy/lib/pg_roles.sh; passwords in var/state/pg, 0600). The admin
# URL is used only to create the database and the roles.
set -euo pipefail

TONGBAN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TONGBAN_REPO"
# shellcheck source=deploy/lib/deps.sh
source deploy/lib/deps.sh
# shellcheck source=deploy/lib/svc.sh
source deploy/lib/svc.sh
# shellcheck source=deploy/lib/tls.sh
source deploy/lib/tls.sh
# shellcheck source=deploy/lib/pg_roles.sh
source deploy/lib/pg_roles.sh

ensure_rust
ensure_postgres
ensure_nats

step "cargo build --release --bins"
cargo build --release --bins

if [ "$(psql -w -X -Atq "$TONGBAN_PG_ADMIN_URL" -c "select 1 from pg_database where datname = 'tongban'")" != 1 ]; then
  step "创建数据库 / creating database tongban"
  psql -w -X -q "$TONGBAN_PG_ADMIN_URL" -c 'CREATE DATABASE tongban'
fi

# Not exported: the services get their own role's URL (start_service), never the admin's.
TONGBAN_DB_ADMIN_URL="${TONGBAN_PG_ADMIN_URL%/postgres}/tongban"
export TONGBAN_NATS_URL
export TONGBAN_DEPLOY_DIR="$TONGBAN_REPO/deploy"
export TONGBAN_STATE_DIR="$TONGBAN_REPO/var/state"
mkdir -p "$TONGBAN_STATE_DIR"
chmod 0700 "$TONGBAN_STATE_DIR"

step "TLS 证书 / TLS certificates (CA $TONGBAN_STATE_DIR/tls/ca.pem)"
export TONGBAN_TLS_DIR="$TONGBAN_STATE_DIR/tls"
ensure_tls "$TONGBAN_TLS_DIR" "${TONGBAN_SERVICES[@]}" || die "无法生成 TLS 证书 / cannot make the TLS certificates"
export TONGBAN_TLS_CA="$TONGBAN_TLS_DIR/ca.pem"
step "数据库角色 / database roles tongban_<svc>"
TONGBAN_PG_PASSWORD_DIR="$TONGBAN_STATE_DIR/pg"
ensure_pg_roles "$TONGBAN_DB_ADMIN_URL" "$TONGBAN_PG_PASSWORD_DIR" "${TONGBAN_SERVICES[@]}" ||
  die "无法创建数据库角色 / cannot create the database roles"
# Clients (intake's certificate client, the CLI in demo.sh) reach the services over https;
# var/state/client.env holds the same settings for a shell (`source var/state/client.env`).
{
  printf 'export TONGBAN_STATE_DIR=%q\n' "$TONGBAN_STATE_DIR"
  printf 'export TONGBAN_TLS_CA=%q\n' "$TONGBAN_TLS_CA"
} >"$TONGBAN_STATE_DIR/client.env"
for svc in "${TONGBAN_SERVICES[@]}"; do
  export "TONGBAN_${svc^^}_URL=$(service_url "$svc")"
  printf 'export TONGBAN_%s_URL=%q\n' "${svc^^}" "$(service_url "$svc")" >>"$TONGBAN_STATE_DIR/client.env"
done

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
# Each service has migrated its schema: the audit logs become append-only for their roles.
lock_audit "$TONGBAN_DB_ADMIN_URL" "${TONGBAN_SERVICES[@]}" || die "无法锁定审计日志 / cannot lock the audit logs"

if [ -f deploy/demo.sh ]; then
  step "运行演示 / running deploy/demo.sh"
  bash deploy/demo.sh
fi

printf '\n通办服务已启动 / tongban is running:\n'
for svc in "${TONGBAN_SERVICES[@]}"; do
  [ "$svc" = console ] && continue # a web page, listed below
  printf '  %-12s %s   log var/log/%s.log\n' "$svc" "$(service_url "$svc")" "$svc"
done
cat <<MSG
命令行 / CLI:     source var/state/client.env   (https 地址与 CA / https addresses and the CA)
                  ${CARGO_TARGET_DIR:-target}/release/tongban --help
停止 / stop:      deploy/down.sh   (PostgreSQL 保持运行；tongban 启动的 NATS 一并停止 / PostgreSQL keeps running; a NATS server tongban started stops too)
MSG
printf '网页控制台 / web console: http://localhost:%s  (演示账号见 README / demo logins in the README)\n' "$(service_port console)"
