#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests (sourced by scripts/test.sh): initdb
# into a temporary folder, TLS with a CA made here, scram-sha-256 logins over
# 127.0.0.1 on a free port. Exports:
# - BRAZEX_TEST_PG_URL: postgres://brazex:…@127.0.0.1:PORT/brazex_test (a role that
#   owns the database and may create roles for grants, not a superuser);
# - BRAZEX_TEST_PG_CA: the CA that signed the server's certificate (for localhost);
# - BRAZEX_TEST_PSQL: the psql the tests read the tables with.
# The server binaries come from Debian's postgresql package, installed when missing.

pg_bin=""
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && pg_bin="$d"
done
if [ -z "$pg_bin" ]; then
    echo "== installing postgresql (the database of the PostgreSQL tests)"
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq postgresql >/dev/null
    else
        sudo apt-get install -y -qq postgresql >/dev/null
    fi
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && pg_bin="$d"
    done
fi
if [ -z "$pg_bin" ]; then
    echo "== no PostgreSQL server binaries (initdb) found or installable" >&2
    exit 1
fi

pg_root=$(mktemp -d "${TMPDIR:-/tmp}/brazex-pg.XXXXXX")
# initdb refuses to run as root: the server runs as the postgres user then.
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$pg_root"
    as_pg=(runuser -u postgres --)
fi

# A CA, and a server certificate for localhost signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=brazex test CA" \
    -keyout "$pg_root/ca.key" -out "$pg_root/ca.crt" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$pg_root/server.key" -out "$pg_root/server.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost\n' >"$pg_root/ext.cnf"
openssl x509 -req -in "$pg_root/server.csr" -CA "$pg_root/ca.crt" -CAkey "$pg_root/ca.key" \
    -CAcreateserial -days 2 -extfile "$pg_root/ext.cnf" -out "$pg_root/server.crt" >/dev/null 2>&1
chmod 600 "$pg_root/server.key"
[ "$(id -u)" = 0 ] && chown postgres "$pg_root"/server.*

pg_port=$(free_port)
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_root/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$pg_root/initdb.log" 2>&1
cat >>"$pg_root/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pg_root'
ssl = on
ssl_cert_file = '$pg_root/server.crt'
ssl_key_file = '$pg_root/server.key'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
CONF
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w start >/dev/null
stop_postgres() {
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_root"
}
"$pg_bin/psql" -q -h "$pg_root" -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE brazex LOGIN CREATEROLE PASSWORD 'brazex-test-secret'" \
    -c "CREATE DATABASE brazex_test OWNER brazex" >/dev/null
export BRAZEX_TEST_PG_URL="postgres://brazex:brazex-test-secret@127.0.0.1:$pg_port/brazex_test"
export BRAZEX_TEST_PG_CA="$pg_root/ca.crt"
export BRAZEX_TEST_PSQL="$pg_bin/psql"
echo "== PostgreSQL test server ($("$pg_bin/postgres" --version)) on 127.0.0.1:$pg_port"
