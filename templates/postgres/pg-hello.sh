#!/bin/sh
# Proves the environment works: devenv up -d, then devenv run -- sh pg-hello.sh
# Asks the running PostgreSQL service (its data in the pgdata volume) for its version and a row.
set -eu
version=$(psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SHOW server_version')
one=$(psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1')
echo "hello from PostgreSQL $version: SELECT 1 returned $one"
