#!/usr/bin/env bash
# deploy/down.sh -- stops the services deploy/up.sh started (from var/run/<svc>.pid):
# TERM, up to 10 s, then KILL. PostgreSQL and NATS are left running.
set -euo pipefail

TONGBAN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TONGBAN_REPO"
# shellcheck source=deploy/lib/deps.sh
source deploy/lib/deps.sh
# shellcheck source=deploy/lib/svc.sh
source deploy/lib/svc.sh

stop_services "${TONGBAN_SERVICES[@]}"
step "已停止 / stopped (PostgreSQL 与 NATS 保持运行 / PostgreSQL and NATS keep running)"
