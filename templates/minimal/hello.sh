#!/bin/sh
# Proves the environment works: devenv run -- sh hello.sh
. /etc/os-release
echo "hello from $PRETTY_NAME"
