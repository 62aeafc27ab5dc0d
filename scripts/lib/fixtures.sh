# shellcheck shell=bash
# Fixture images for the tests: build them with other tools (scripts/fixtures/*), cache the OCI
# layouts under <repo>/.build-fixtures/, copy them into FIXTURES/oci/, push them to the fresh
# registries, check what the registries serve, and make umoci reference unpacks.
# Source after scripts/lib/common.sh and scripts/lib/services.sh; needs FIXTURES, REG_PORT,
# AUTHREG_PORT, SLOWREG_PORT.

FIXTURE_CACHE="${DEVENV_TEST_FIXTURE_CACHE:-$DEVENV_REPO/.build-fixtures}"  # override: another cache folder
FIXTURE_SCRIPTS="$DEVENV_REPO/scripts/fixtures"

# fixture_key NAME FILE... [-- EXTRA...] — cache key: hash of the fixture's scripts, the versions
# of the tools that build it, and any extra strings (a dependency's key, the mirror).
fixture_key() {
    local name="$1" files=() extra=()
    shift
    while [[ $# -gt 0 && $1 != -- ]]; do files+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift && extra=("$@")
    {
        printf '%s\n' "$name" "${extra[@]}"
        dpkg-query -W umoci skopeo mmdebstrap busybox-static 2>/dev/null
        cat "${files[@]}"
    } | sha256sum | cut -c1-16
}

# cached_fixture NAME KEY BUILDER [ARGS...] — set CACHED_DIR to the cache folder NAME-KEY, running
# `BUILDER OUTDIR ARGS...` first if it is not there. Builds go to a temporary folder that is
# renamed into place only when complete; older builds of NAME are then deleted.
cached_fixture() {
    local name="$1" key="$2"
    shift 2
    local dest="$FIXTURE_CACHE/$name-$key"
    if [[ -d $dest ]]; then
        info "$name: cached ($dest)"
    else
        local start tmp old
        start="$(now)"
        info "$name: building (cache key $key)"
        tmp="$(mktemp -d "$FIXTURE_CACHE/tmp-$name.XXXXXX")"
        "$1" "$tmp" "${@:2}" >&2 || { rm -rf "$tmp"; die "building fixture $name failed: $*"; }
        mv "$tmp" "$dest"
        for old in "$FIXTURE_CACHE/$name"-*; do
            [[ $old == "$dest" ]] || rm -rf "$old"
        done
        info "$name: built in $(elapsed_since "$start")"
    fi
    CACHED_DIR="$dest"
}

# build_fixtures — make sure every fixture is built and copy the layouts to FIXTURES/oci/.
build_fixtures() {
    local f="$FIXTURE_SCRIPTS" debian_key layered_key multiarch_key deep_key debian layered multiarch deep
    mkdir -p "$FIXTURE_CACHE"
    exec 9>"$FIXTURE_CACHE/lock"
    flock 9  # one builder at a time; a concurrent run waits and then finds the cache
    rm -rf "$FIXTURE_CACHE"/tmp-*

    debian_key="$(fixture_key debian "$f/common.sh" "$f/debian.sh" -- "${DEVENV_TEST_DEBIAN_MIRROR:-}")"
    cached_fixture debian "$debian_key" "$f/debian.sh"
    debian="$CACHED_DIR"

    layered_key="$(fixture_key layered "$f/common.sh" "$f/layered.sh" "$f/make-opaque-layer.py")"
    cached_fixture layered "$layered_key" "$f/layered.sh"
    layered="$CACHED_DIR"

    multiarch_key="$(fixture_key multiarch "$f/common.sh" "$f/multiarch.sh" -- "$layered_key")"
    cached_fixture multiarch "$multiarch_key" "$f/multiarch.sh" "$layered/layered"
    multiarch="$CACHED_DIR"

    deep_key="$(fixture_key deep "$f/common.sh" "$f/deep.sh")"
    cached_fixture deep "$deep_key" "$f/deep.sh"
    deep="$CACHED_DIR"

    exec 9>&-
    mkdir -p "$FIXTURES/oci"
    cp -a "$debian/debian" "$debian/debian-zstd" "$layered/layered" "$multiarch/multiarch" "$deep/deep" "$FIXTURES/oci/"
}

# push SOURCE DEST [SKOPEO-ARGS...] — skopeo copy to one of our plain-HTTP registries.
push() {
    local src="$1" dest="$2"
    shift 2
    info "push $dest"
    skopeo copy --quiet --dest-tls-verify=false "$@" "$src" "docker://$dest" >&2
}

push_fixtures() {
    local oci="$FIXTURES/oci" reg="127.0.0.1:$REG_PORT" authreg="127.0.0.1:$AUTHREG_PORT"
    push "oci:$oci/debian:bookworm" "$reg/fixtures/debian:bookworm"
    push "oci:$oci/debian:bookworm" "$reg/fixtures/debian:bookworm-v2s2" --format v2s2
    push "oci:$oci/debian-zstd:bookworm" "$reg/fixtures/debian:bookworm-zstd"
    push "oci:$oci/layered:latest" "$reg/fixtures/layered:latest"
    push "oci:$oci/multiarch:latest" "$reg/fixtures/multiarch:latest" --all
    push "oci:$oci/deep:latest" "$reg/fixtures/deep:latest"
    push "oci:$oci/layered:latest" "$authreg/fixtures/layered:latest" \
        --dest-authfile "$FIXTURES/auth/config.json"
}

# raw_manifest REF [SKOPEO-ARGS...] — the manifest bytes the registry serves for REF.
raw_manifest() {
    local ref="$1"
    shift
    skopeo inspect --raw --tls-verify=false "$@" "docker://$ref"
}

# expect_json WHAT JSON JQ-FILTER EXPECTED — fail unless the filter prints EXPECTED.
expect_json() {
    local got
    got="$(jq -r "$3" <<<"$2")"
    [[ $got == "$4" ]] || die "fixture check failed: $1: expected $4, got $got"
}

# http_status URL [CURL-ARGS...]
http_status() {
    local url="$1"
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$url"
}

# verify_fixtures — check that the registries serve what the tests expect.
verify_fixtures() {
    local reg="127.0.0.1:$REG_PORT" authreg="127.0.0.1:$AUTHREG_PORT" slow="127.0.0.1:$SLOWREG_PORT" m ref
    for ref in debian:bookworm debian:bookworm-v2s2 debian:bookworm-zstd layered:latest multiarch:latest deep:latest; do
        skopeo inspect --tls-verify=false "docker://$reg/fixtures/$ref" >/dev/null \
            || die "fixture check failed: skopeo inspect $reg/fixtures/$ref"
    done
    m="$(raw_manifest "$reg/fixtures/debian:bookworm")"
    expect_json "debian:bookworm config" "$m" '.config.mediaType' application/vnd.oci.image.config.v1+json
    expect_json "debian:bookworm layers" "$m" '[.layers[].mediaType] | join(",")' application/vnd.oci.image.layer.v1.tar+gzip
    m="$(raw_manifest "$reg/fixtures/debian:bookworm-v2s2")"
    expect_json "debian:bookworm-v2s2 manifest" "$m" '.mediaType' application/vnd.docker.distribution.manifest.v2+json
    expect_json "debian:bookworm-v2s2 layers" "$m" '[.layers[].mediaType] | join(",")' application/vnd.docker.image.rootfs.diff.tar.gzip
    m="$(raw_manifest "$reg/fixtures/debian:bookworm-zstd")"
    expect_json "debian:bookworm-zstd layers" "$m" '[.layers[].mediaType] | join(",")' application/vnd.oci.image.layer.v1.tar+zstd
    m="$(raw_manifest "$reg/fixtures/layered:latest")"
    expect_json "layered:latest layer count" "$m" '.layers | length' 4
    m="$(raw_manifest "$reg/fixtures/deep:latest")"
    expect_json "deep:latest layer count" "$m" '.layers | length' 600
    m="$(raw_manifest "$reg/fixtures/multiarch:latest")"
    expect_json "multiarch:latest manifest" "$m" '.mediaType' application/vnd.oci.image.index.v1+json
    expect_json "multiarch:latest platforms" "$m" '[.manifests[].platform | "\(.os)/\(.architecture)"] | join(",")' linux/arm64,linux/amd64
    verify_auth_registry "$authreg"
    verify_slow_registry "$slow" "$reg"
}

verify_auth_registry() {
    local authreg="$1" code
    code="$(http_status "http://$authreg/v2/")"
    [[ $code == 401 ]] || die "fixture check failed: anonymous /v2/ on AUTHREG gave $code, expected 401"
    code="$(http_status "http://$authreg/v2/" -u "$AUTH_USER:wrong-password")"
    [[ $code == 401 ]] || die "fixture check failed: wrong password on AUTHREG gave $code, expected 401"
    code="$(http_status "http://$authreg/v2/" -u "$AUTH_USER:$AUTH_PASSWORD")"
    [[ $code == 200 ]] || die "fixture check failed: right password on AUTHREG gave $code, expected 200"
    raw_manifest "$authreg/fixtures/layered:latest" --authfile "$FIXTURES/auth/config.json" >/dev/null \
        || die "fixture check failed: skopeo with auth/config.json cannot read AUTHREG"
    if raw_manifest "$authreg/fixtures/layered:latest" --authfile "$FIXTURES/auth/wrong-config.json" >/dev/null 2>&1; then
        die "fixture check failed: skopeo with auth/wrong-config.json could read AUTHREG"
    fi
}

# The slow proxy must serve the same bytes as REG, and slowly: a ~1 MB blob takes >= 0.15 s.
verify_slow_registry() {
    local slow="$1" reg="$2" layer seconds
    layer="$(raw_manifest "$reg/fixtures/layered:latest" | jq -r '.layers[0].digest')"
    [[ "$(curl -sf "http://$slow/v2/fixtures/layered/blobs/$layer" | sha256sum | cut -d' ' -f1)" == "${layer#sha256:}" ]] \
        || die "fixture check failed: blob through SLOWREG does not match its digest"
    seconds="$(curl -sf -o /dev/null -w '%{time_total}' "http://$slow/v2/fixtures/layered/blobs/$layer")"
    awk -v s="$seconds" 'BEGIN { exit !(s >= 0.15) }' \
        || die "fixture check failed: SLOWREG served a 1 MB blob in ${seconds}s: not throttled"
}

# write_auth_configs — Docker client config files for AUTHREG: a right and a wrong one.
write_auth_configs() {
    local dir="$FIXTURES/auth" host="127.0.0.1:$AUTHREG_PORT"
    mkdir -p "$dir"
    jq -n --arg host "$host" --arg auth "$(printf '%s:%s' "$AUTH_USER" "$AUTH_PASSWORD" | base64 -w0)" \
        '{auths: {($host): {auth: $auth}}}' >"$dir/config.json"
    jq -n --arg host "$host" --arg auth "$(printf '%s:%s' "$AUTH_USER" "not-the-password" | base64 -w0)" \
        '{auths: {($host): {auth: $auth}}}' >"$dir/wrong-config.json"
}

# Reference unpacks: umoci's own (as root), for tests to compare against. The debian one takes
# ~10 s, so it runs in the background (REF_UNPACK_PID) while the images are pushed.
REF_UNPACK_PID=""

start_reference_unpacks() {
    mkdir -p "$FIXTURES/ref"
    umoci unpack --image "$FIXTURES/oci/layered:latest" "$FIXTURES/ref/layered" >/dev/null
    umoci unpack --image "$FIXTURES/oci/debian:bookworm" "$FIXTURES/ref/debian" \
        >"$WORKDIR/ref-debian.log" 2>&1 </dev/null &
    REF_UNPACK_PID=$!
}

finish_reference_unpacks() {
    local pid="$REF_UNPACK_PID"
    [[ -n $pid ]] || return 0
    REF_UNPACK_PID=""
    wait "$pid" || { cat "$WORKDIR/ref-debian.log" >&2; die "umoci unpack of debian:bookworm failed"; }
}

# For the EXIT trap: stop an unpack still running, before its folder is deleted.
abort_reference_unpacks() {
    [[ -n $REF_UNPACK_PID ]] || return 0
    kill "$REF_UNPACK_PID" 2>/dev/null
    wait "$REF_UNPACK_PID" 2>/dev/null
    REF_UNPACK_PID=""
}
