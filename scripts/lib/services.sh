# shellcheck shell=bash
# Throwaway services for the tests, all on 127.0.0.1 with free ports, under one work directory:
#   REG      docker-registry, anonymous
#   AUTHREG  docker-registry with htpasswd basic auth (AUTH_USER / AUTH_PASSWORD)
#   SLOWREG  scripts/lib/slow-proxy.py in front of REG, bodies throttled to SLOW_RATE bytes/s
#   TOKENSRV scripts/lib/token-server.py, a token service (JWTs signed with its own key)
#   TOKENREG docker-registry with `auth: token` whose realm is TOKENSRV (the Docker Hub flow)
# Each service gets WORKDIR/<name>/{config.yml,storage/,log}; started pids are listed in
# WORKDIR/pids ("pid name" lines) so stop_services can end exactly those, also from a later shell.
# Source after scripts/lib/common.sh; set WORKDIR first.

AUTH_USER="devenv"
AUTH_PASSWORD="s3cret-pass"
SLOW_RATE=$((4 * 1024 * 1024))
# TOKENREG: the registry's auth.token service and issuer, and an account for the fixture pushes
# (AUTH_USER may only pull, and only fixtures/*). The token service needs Debian's
# python3-cryptography, so it runs with Debian's python, whatever python3 is first on PATH.
TOKEN_SERVICE="devenv-test-registry"
TOKEN_ISSUER="devenv-test-issuer"
TOKEN_PUSH_USER="devenv-pusher"
TOKEN_PUSH_PASSWORD="pusher-pass"
TOKEN_PYTHON="/usr/bin/python3"
TOKEN_REALM=""      # http://127.0.0.1:PORT/token, set by start_token_server
TOKEN_CERT=""       # the certificate TOKENREG trusts, set by start_token_server
SERVICE_NAMES=()

# Print a TCP port that is free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_http NAME PORT PID — wait until http://127.0.0.1:PORT/v2/ answers (any status).
wait_for_http() {
    local name="$1" port="$2" pid="$3" code i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || { warn "$name exited while starting"; return 1; }
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/v2/" || true)"
        [[ $code != 000 ]] && return 0
        sleep 0.1
    done
    warn "$name did not answer on 127.0.0.1:$port/v2/ within 30s"
    return 1
}

# launch NAME PORT COMMAND... — run COMMAND in the background, logging to WORKDIR/NAME/log,
# record its pid, and wait for its /v2/ endpoint. Returns non-zero (process stopped) if it fails.
launch() {
    local name="$1" port="$2"
    shift 2
    local log="$WORKDIR/$name/log"
    "$@" >>"$log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid $name" >>"$WORKDIR/pids"
    if wait_for_http "$name" "$port" "$pid"; then
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    return 1
}

# write_registry_config DIR PORT [auth|token]
write_registry_config() {
    local dir="$1" port="$2" auth="$3"
    cat >"$dir/config.yml" <<YAML
# docker-registry (distribution 2.8) for devenv tests; no blob descriptor cache, so tests may
# corrupt or delete files under storage/ and see the effect at once.
version: 0.1
log:
  level: warn  # errors only; the access log still has one line per request
  formatter: text
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: devenv-test-secret-$port
YAML
    if [[ $auth == auth ]]; then
        cat >>"$dir/config.yml" <<YAML
auth:
  htpasswd:
    realm: devenv-test
    path: $dir/htpasswd
YAML
    elif [[ $auth == token ]]; then
        cat >>"$dir/config.yml" <<YAML
auth:
  token:
    realm: $TOKEN_REALM
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $TOKEN_CERT
YAML
    fi
}

# start_registry NAME [auth|token] — start a docker-registry; sets <NAME>_PORT. Retries with a
# new port if the chosen one was taken in the meantime. `token` needs start_token_server first.
start_registry() {
    local name="$1" auth="${2:-}" dir="$WORKDIR/$1" port attempt note=""
    mkdir -p "$dir/storage"
    if [[ $auth == auth ]]; then
        htpasswd -B -b -c "$dir/htpasswd" "$AUTH_USER" "$AUTH_PASSWORD" 2>/dev/null
    fi
    case "$auth" in
        auth) note=" (htpasswd auth)" ;;
        token) note=" (token auth, realm $TOKEN_REALM)" ;;
    esac
    SERVICE_NAMES+=("$name")
    for attempt in 1 2 3; do
        port="$(free_port)"
        write_registry_config "$dir" "$port" "$auth"
        if launch "$name" "$port" docker-registry serve "$dir/config.yml"; then
            printf -v "${name}_PORT" '%s' "$port"
            info "$name: docker-registry on 127.0.0.1:$port$note"
            return 0
        fi
        warn "$name: attempt $attempt on port $port failed; log: $dir/log"
    done
    return 1
}

# start_slow_proxy NAME UPSTREAM_PORT — start the throttling proxy; sets <NAME>_PORT.
start_slow_proxy() {
    local name="$1" upstream="$2" dir="$WORKDIR/$1" port attempt
    mkdir -p "$dir"
    SERVICE_NAMES+=("$name")
    for attempt in 1 2 3; do
        port="$(free_port)"
        if launch "$name" "$port" python3 "$DEVENV_REPO/scripts/lib/slow-proxy.py" \
            --listen "127.0.0.1:$port" --upstream "127.0.0.1:$upstream" --rate "$SLOW_RATE"; then
            printf -v "${name}_PORT" '%s' "$port"
            info "$name: slow-proxy on 127.0.0.1:$port -> 127.0.0.1:$upstream at $SLOW_RATE B/s"
            return 0
        fi
        warn "$name: attempt $attempt on port $port failed; log: $dir/log"
    done
    return 1
}

# start_token_server NAME TOKEN_LOG — make a signing key and certificate, start the token service
# (accounts: AUTH_USER may pull fixtures/*, TOKEN_PUSH_USER may pull and push anything; every
# issued token is appended to TOKEN_LOG); sets <NAME>_PORT, TOKEN_REALM and TOKEN_CERT.
start_token_server() {
    local name="$1" token_log="$2" dir="$WORKDIR/$1" port attempt
    mkdir -p "$dir" "$(dirname "$token_log")"
    (umask 077 && "$TOKEN_PYTHON" "$DEVENV_REPO/scripts/lib/token-server.py" keygen "$dir") \
        || die "$name: cannot make a signing key with $TOKEN_PYTHON (is python3-cryptography installed?)"
    TOKEN_CERT="$dir/cert.pem"
    chmod 644 "$TOKEN_CERT"
    SERVICE_NAMES+=("$name")
    for attempt in 1 2 3; do
        port="$(free_port)"
        if launch "$name" "$port" "$TOKEN_PYTHON" "$DEVENV_REPO/scripts/lib/token-server.py" serve \
            --listen "127.0.0.1:$port" --key "$dir/key.pem" \
            --issuer "$TOKEN_ISSUER" --service "$TOKEN_SERVICE" \
            --account "$AUTH_USER" "$AUTH_PASSWORD" 'fixtures/*' pull \
            --account "$TOKEN_PUSH_USER" "$TOKEN_PUSH_PASSWORD" '*' pull,push \
            --token-log "$token_log"; then
            printf -v "${name}_PORT" '%s' "$port"
            TOKEN_REALM="http://127.0.0.1:$port/token"
            info "$name: token-server on 127.0.0.1:$port ($AUTH_USER may pull fixtures/*)"
            return 0
        fi
        warn "$name: attempt $attempt on port $port failed; log: $dir/log"
    done
    return 1
}

# True if PID is still one of our services (guards against pid reuse when stopping later).
is_our_service() {
    local cmdline
    cmdline="$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" || return 1
    [[ $cmdline == *docker-registry* || $cmdline == *slow-proxy.py* || $cmdline == *token-server.py* ]]
}

# True if PID exists and is not a zombie (a stopped child stays a zombie until its parent reaps it).
is_running() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ ${stat%% *} != Z ]]
}

# stop_services DIR — TERM every service listed in DIR/pids, KILL what is left after 5s.
stop_services() {
    local dir="$1" pid name alive=() stopped=() i
    [[ -f $dir/pids ]] || return 0
    while read -r pid name; do
        if is_our_service "$pid"; then
            kill -TERM "$pid" 2>/dev/null && alive+=("$pid") && stopped+=("$pid")
        fi
    done <"$dir/pids"
    for ((i = 0; i < 50 && ${#alive[@]} > 0; i++)); do
        local still=()
        for pid in "${alive[@]}"; do
            is_running "$pid" && still+=("$pid")
        done
        alive=("${still[@]}")
        [[ ${#alive[@]} -eq 0 ]] || sleep 0.1
    done
    for pid in "${alive[@]}"; do
        warn "service $pid ignored SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${stopped[@]}"; do
        wait "$pid" 2>/dev/null || true  # reap it if it is our child; no-op otherwise
    done
    rm -f "$dir/pids"
}

# Print the last lines of every service log (for failures).
print_service_logs() {
    local dir="$1" log
    for log in "$dir"/*/log; do
        [[ -f $log ]] || continue
        printf -- '--- last lines of %s\n' "$log" >&2
        tail -n 15 "$log" | cut -c1-400 >&2
    done
}
