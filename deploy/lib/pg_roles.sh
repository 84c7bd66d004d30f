#!/usr/bin/env bash
# deploy/lib/pg_roles.sh -- one PostgreSQL role per service, with rights on its own schema only,
# and an audit log the service can add to but never change. Sourced by deploy/up.sh; run
# directly by the database-role e2e test:
#   pg_roles.sh roles DB_ADMIN_URL PASSWORD_DIR SVC...   (before the services start)
#   pg_roles.sh lock-audit DB_ADMIN_URL SVC...            (after they have migrated)
# DB_ADMIN_URL is the admin's URL of the service database (e.g. .../tongban). The admin URL is
# used only here; each service connects with service_database_url.
#   pg_role_name SVC                        ${TONGBAN_PG_ROLE_PREFIX:-tongban_}SVC
#   ensure_pg_roles DB_ADMIN_URL DIR SVC... role SVC (LOGIN, password in DIR/SVC.password,
#                                           0600), schema SVC owned by the admin with USAGE and
#                                           CREATE for the role only, objects already in it
#                                           handed to the role (except the audit log),
#                                           CONNECT on the database for the roles, not PUBLIC
#   lock_audit DB_ADMIN_URL SVC...          SVC.audit_log and its trigger function owned by the
#                                           admin; the role keeps SELECT and INSERT only
#   service_database_url DB_ADMIN_URL DIR SVC  the URL SVC connects with
# Everything is idempotent.

pg_role_name() { printf '%s%s\n' "${TONGBAN_PG_ROLE_PREFIX:-tongban_}" "$1"; }

# _pg_password DIR SVC: SVC's password, made (random, 0600) the first time.
_pg_password() {
  local file="$1/$2.password"
  if [ ! -s "$file" ]; then
    mkdir -p "$1"
    chmod 0700 "$1"
    (umask 077 && openssl rand -hex 24 >"$file")
  fi
  chmod 0600 "$file"
  tr -d '\n' <"$file"
}

ensure_pg_roles() {
  local admin=$1 dir=$2 svc role password
  shift 2
  for svc in "$@"; do
    [[ $svc =~ ^[a-z][a-z0-9_]*$ ]] || { printf 'bad service name: %s\n' "$svc" >&2; return 1; }
    role=$(pg_role_name "$svc")
    password=$(_pg_password "$dir" "$svc")
    psql -w -X -q -v ON_ERROR_STOP=1 "$admin" \
      -v role="$role" -v schema="$svc" -v password="$password" <<'SQL' || return 1
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  PASSWORD :'password';
REVOKE CONNECT, TEMPORARY ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"role";
CREATE SCHEMA IF NOT EXISTS :"schema";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA :"schema" TO :"role";
-- Tables, views and sequences an earlier deployment made as the admin go to the role, except
-- the audit log (and sequences that belong to a table: they follow it).
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              n.nspname, c.relname, :'role')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :'schema' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND c.relname <> 'audit_log'
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'role')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
                      AND d.deptype IN ('a', 'i')) \gexec
SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, :'role')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = :'schema' AND p.proname <> 'audit_log_is_append_only'
   AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('GRANT SELECT, INSERT ON %I.audit_log TO %I', :'schema', :'role'),
       format('GRANT USAGE ON SEQUENCE %I.audit_log_id_seq TO %I', :'schema', :'role')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :'schema' AND c.relname = 'audit_log'
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'role') \gexec
SQL
  done
}

lock_audit() {
  local admin=$1 svc role
  shift
  for svc in "$@"; do
    role=$(pg_role_name "$svc")
    psql -w -X -q -v ON_ERROR_STOP=1 "$admin" -v role="$role" -v schema="$svc" <<'SQL' || return 1
-- The role made the audit log when it migrated; the admin takes it (the owner could drop the
-- trigger that refuses changes), and the role keeps reading and adding rows only.
SET client_min_messages = warning;
SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, current_user)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = :'schema' AND p.proname = 'audit_log_is_append_only' \gexec
SELECT format('ALTER TABLE %I.audit_log OWNER TO %I', :'schema', current_user),
       format('REVOKE ALL ON %I.audit_log FROM %I', :'schema', :'role'),
       format('GRANT SELECT, INSERT ON %I.audit_log TO %I', :'schema', :'role'),
       format('REVOKE ALL ON SEQUENCE %I.audit_log_id_seq FROM %I', :'schema', :'role'),
       format('GRANT USAGE ON SEQUENCE %I.audit_log_id_seq TO %I', :'schema', :'role')
 WHERE to_regclass(format('%I.audit_log', :'schema')) IS NOT NULL \gexec
SQL
  done
}

# service_database_url DB_ADMIN_URL DIR SVC: DB_ADMIN_URL with SVC's role and password.
service_database_url() {
  local admin=$1 dir=$2 svc=$3 rest
  rest=${admin#*://}
  rest=${rest#*@}
  printf 'postgres://%s:%s@%s\n' "$(pg_role_name "$svc")" "$(_pg_password "$dir" "$svc")" "$rest"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case ${1:-} in
    roles) shift && ensure_pg_roles "$@" ;;
    lock-audit) shift && lock_audit "$@" ;;
    url) shift && service_database_url "$@" ;;
    *)
      printf 'usage: %s roles DB_ADMIN_URL DIR SVC... | lock-audit DB_ADMIN_URL SVC... | url DB_ADMIN_URL DIR SVC\n' "$0" >&2
      exit 2
      ;;
  esac
fi
