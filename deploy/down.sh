#!/usr/bin/env bash
# deploy/down.sh -- stops the services deploy/up.sh started (from var/run/<svc>.pid):
# TERM, up to 10 s, then KILL. Then the nats-server that deploy/up.sh started (the pinned one on
# 127.0.0.1:4223), only when tongban started it; PostgreSQL and a NATS server tongban did not
# start are left running.
set -euo pipefail

TONGBAN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TONGBAN_REPO"
# shellcheck source=deploy/lib/deps.sh
source deploy/lib/deps.sh
# shellcheck source=deploy/lib/svc.sh
source deploy/lib/svc.sh

stop_services "${TONGBAN_SERVICES[@]}"
stop_nats
step "已停止 / stopped (PostgreSQL 与非 tongban 启动的 NATS 保持运行 / PostgreSQL and a NATS server tongban did not start keep running)"
