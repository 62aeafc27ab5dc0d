#!/bin/sh
# Proves the environment works: devenv run -- sh pg-hello.sh
# Makes a database cluster in .pgdata (once), starts PostgreSQL on a unix socket in /tmp with no
# TCP listener, runs a query, and stops the server again.
set -eu
bin=/usr/lib/postgresql/15/bin
if [ "$(id -u)" = 0 ]; then
    echo "pg-hello.sh: PostgreSQL refuses to run as root; run devenv as your own user" >&2
    exit 1
fi
if [ ! -f .pgdata/PG_VERSION ]; then
    "$bin/initdb" --pgdata=.pgdata --username=postgres --auth=trust --no-instructions >/tmp/initdb.log
fi
"$bin/pg_ctl" --pgdata=.pgdata --log=/tmp/postgres.log --wait \
    --options="-k /tmp -c listen_addresses=''" start >/dev/null
trap '"$bin/pg_ctl" --pgdata=.pgdata --mode=fast --wait stop >/dev/null' EXIT
version=$("$bin/psql" -h /tmp -U postgres -d postgres -tAc 'SHOW server_version')
one=$("$bin/psql" -h /tmp -U postgres -d postgres -tAc 'SELECT 1')
echo "hello from PostgreSQL $version: SELECT 1 returned $one"
