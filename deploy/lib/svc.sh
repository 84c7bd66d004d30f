# shellcheck shell=bash
# deploy/lib/svc.sh -- sourced by deploy/up.sh and deploy/down.sh (after deps.sh).
# Starts and stops tongban's services, one pid file each in var/run/<svc>.pid and one log each
# in var/log/<svc>.log under the repository root ($TONGBAN_REPO).
#   TONGBAN_SERVICES           the services, in start order
#   service_port SVC           the TCP port SVC listens on (TONGBAN_<SVC>_ADDR or the default)
#   metrics_port SVC           the port of SVC's Prometheus /metrics: its gRPC port + 1000
#   start_service SVC          start target/release/tongban-SVC in the background; with
#                              TONGBAN_TLS_DIR set it serves TLS with TONGBAN_TLS_DIR/SVC.pem and
#                              .key; with TONGBAN_PG_PASSWORD_DIR and TONGBAN_DB_ADMIN_URL set it
#                              connects as its own database role (deploy/lib/pg_roles.sh)
#   service_url SVC            http://127.0.0.1:PORT, or https:// with TONGBAN_TLS_DIR set
#   await_service SVC SECONDS  wait for its port; on failure print its log tail and exit 1
#   stop_services SVC...       TERM, up to 10 s for all, then KILL; removes the pid files

# shellcheck disable=SC2034 # used by up.sh and down.sh
TONGBAN_SERVICES=(certificate intake review logistics hotline supervision console)

# service_port SVC: the port from TONGBAN_<SVC>_ADDR (host:port), else the default.
service_port() {
  local var default
  case $1 in
    intake) var=TONGBAN_INTAKE_ADDR default=0.0.0.0:50051 ;;
    review) var=TONGBAN_REVIEW_ADDR default=0.0.0.0:50052 ;;
    certificate) var=TONGBAN_CERTIFICATE_ADDR default=0.0.0.0:50053 ;;
    logistics) var=TONGBAN_LOGISTICS_ADDR default=0.0.0.0:50054 ;;
    hotline) var=TONGBAN_HOTLINE_ADDR default=0.0.0.0:50055 ;;
    supervision) var=TONGBAN_SUPERVISION_ADDR default=0.0.0.0:50056 ;;
    console) var=TONGBAN_CONSOLE_ADDR default=127.0.0.1:8080 ;;
    *) die "未知服务 / unknown service: $1" ;;
  esac
  local addr=${!var:-$default}
  printf '%s\n' "${addr##*:}"
}

# metrics_port SVC: where SVC serves GET /metrics (tongban_runtime::metrics::PORT_OFFSET):
# intake 51051, review 51052, certificate 51053, logistics 51054, hotline 51055, supervision 51056.
metrics_port() {
  printf '%s\n' "$(($(service_port "$1") + 1000))"
}

# service_url SVC: the address clients reach SVC at.
service_url() {
  local scheme=http
  [ -z "${TONGBAN_TLS_DIR:-}" ] || scheme=https
  printf '%s://127.0.0.1:%s\n' "$scheme" "$(service_port "$1")"
}

_pid_file() { printf '%s/var/run/%s.pid\n' "$TONGBAN_REPO" "$1"; }
_log_file() { printf '%s/var/log/%s.log\n' "$TONGBAN_REPO" "$1"; }

# _alive PID: the process exists and is not a zombie waiting to be reaped.
_alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# _service_pid SVC: the pid from SVC's pid file when that process is still tongban-SVC.
_service_pid() {
  local pid_file pid cmd
  pid_file=$(_pid_file "$1")
  [ -f "$pid_file" ] || return 1
  pid=$(<"$pid_file")
  [[ $pid =~ ^[0-9]+$ ]] && _alive "$pid" || return 1
  # Guard against a recycled pid: the process must still be our binary.
  cmd=$(2>/dev/null tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1) || return 1
  [[ $cmd == */tongban-$1 ]] || return 1
  printf '%s\n' "$pid"
}

stop_services() {
  local svc pid tenths=0
  local -A pids=()
  for svc in "$@"; do
    if pid=$(_service_pid "$svc"); then
      step "停止 / stopping tongban-$svc (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids[$svc]=$pid
    fi
  done
  for svc in "${!pids[@]}"; do
    pid=${pids[$svc]}
    while _alive "$pid" && ((tenths < 100)); do
      sleep 0.1
      tenths=$((tenths + 1))
    done
    if _alive "$pid"; then
      warn "tongban-$svc 10 秒内未退出，强制结束 / did not stop within 10 s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for svc in "$@"; do
    rm -f "$(_pid_file "$svc")"
  done
}

start_service() {
  local svc=$1 bin port log
  bin="${CARGO_TARGET_DIR:-$TONGBAN_REPO/target}/release/tongban-$svc"
  port=$(service_port "$svc")
  log=$(_log_file "$svc")
  [ -x "$bin" ] || die "找不到 / not found: $bin (cargo build --release --bins)"
  if port_open 127.0.0.1 "$port"; then
    die "端口 $port 已被其他进程占用 / port $port is already in use by another process (ss -ltnp 'sport = :$port')"
  fi
  mkdir -p "$TONGBAN_REPO/var/run" "$TONGBAN_REPO/var/log"
  step "启动 / starting tongban-$svc on :$port (log $log)"
  printf -- '--- %s start ---\n' "$(date -Is)" >>"$log"
  local -a env=()
  if [ -n "${TONGBAN_TLS_DIR:-}" ]; then
    env+=("TONGBAN_TLS_CERT=$TONGBAN_TLS_DIR/$svc.pem" "TONGBAN_TLS_KEY=$TONGBAN_TLS_DIR/$svc.key")
  fi
  if [ -n "${TONGBAN_PG_PASSWORD_DIR:-}" ]; then
    env+=("TONGBAN_DATABASE_URL=$(service_database_url "$TONGBAN_DB_ADMIN_URL" "$TONGBAN_PG_PASSWORD_DIR" "$svc")")
  fi
  # setsid: its own session, so closing this terminal does not stop it; env execs the binary,
  # so the pid stays the service's; the admin's database URL is not passed on.
  setsid env -u TONGBAN_PG_ADMIN_URL "${env[@]}" "$bin" >>"$log" 2>&1 </dev/null &
  printf '%s\n' "$!" >"$(_pid_file "$svc")"
}

await_service() {
  local svc=$1 seconds=$2 port pid waited=0
  port=$(service_port "$svc")
  pid=$(<"$(_pid_file "$svc")")
  until port_open 127.0.0.1 "$port"; do
    if ! _alive "$pid"; then
      tail -n 30 "$(_log_file "$svc")" >&2 || true
      die "tongban-$svc 已退出 / exited during start-up (log above: $(_log_file "$svc"))"
    fi
    if ((waited >= seconds)); then
      tail -n 30 "$(_log_file "$svc")" >&2 || true
      die "tongban-$svc ${seconds} 秒内未监听 :$port / not listening on :$port within ${seconds} s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  step "tongban-$svc 就绪 / ready on :$port"
}
