#!/usr/bin/env bash
# deploy/lib/tls.sh DIR SERVICE... -- a local CA and one server certificate per service for
# gRPC over TLS, made with the openssl command. Sourced by deploy/up.sh (as ensure_tls) and run
# directly by the TLS e2e test.
#   DIR/ca.pem             the CA certificate: clients verify servers by it (TONGBAN_TLS_CA)
#   DIR/ca.key             the CA's key (0600); only this script uses it
#   DIR/SERVICE.pem        SERVICE's certificate, SANs 127.0.0.1, ::1 and localhost (TONGBAN_TLS_CERT)
#   DIR/SERVICE.key        its key, 0600 (TONGBAN_TLS_KEY)
# Files that exist are kept (re-running changes nothing); a certificate missing its key, or not
# signed by DIR/ca.pem, is made again. Keys are ECDSA P-256; CA 10 years, servers 825 days.

# ensure_tls DIR SERVICE...
ensure_tls() {
  local dir=$1 svc
  shift
  command -v openssl >/dev/null || {
    printf 'openssl 未安装 / openssl is not installed (apt-get install openssl)\n' >&2
    return 1
  }
  mkdir -p "$dir"
  chmod 0700 "$dir"
  if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
    (
      umask 077
      openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -days 3650 -subj "/O=tongban/CN=tongban local CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    ) || return 1
    chmod 0644 "$dir/ca.pem"
    # Certificates of an earlier CA no longer verify: make them again.
    for svc in "$@"; do rm -f "$dir/$svc.pem" "$dir/$svc.key"; done
  fi
  for svc in "$@"; do
    if [ -s "$dir/$svc.pem" ] && [ -s "$dir/$svc.key" ] &&
      openssl verify -CAfile "$dir/ca.pem" "$dir/$svc.pem" >/dev/null 2>&1; then
      continue
    fi
    (
      umask 077
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -subj "/O=tongban/CN=tongban-$svc" -keyout "$dir/$svc.key" -out "$dir/$svc.csr" 2>/dev/null &&
        openssl x509 -req -in "$dir/$svc.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
          -CAcreateserial -days 825 -sha256 -out "$dir/$svc.pem" \
          -extfile <(printf '%s\n' \
            'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost' \
            'basicConstraints=critical,CA:FALSE' \
            'keyUsage=critical,digitalSignature' \
            'extendedKeyUsage=serverAuth') 2>/dev/null
    ) || return 1
    rm -f "$dir/$svc.csr"
    chmod 0600 "$dir/$svc.key"
    chmod 0644 "$dir/$svc.pem"
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ $# -ge 2 ] || {
    printf 'usage: %s DIR SERVICE...\n' "$0" >&2
    exit 2
  }
  ensure_tls "$@"
fi
