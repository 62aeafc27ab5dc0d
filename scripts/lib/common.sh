# shellcheck shell=bash
# Shared helpers for scripts/test, scripts/devenv and scripts/fixtures/*.
# Source it; it defines functions only (plus DEVENV_REPO) and never changes shell options.

# shellcheck disable=SC2034  # used by the scripts that source this file
DEVENV_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Swift toolchain location on this project's machines.
DEVENV_SWIFT_BIN="${DEVENV_SWIFT_BIN:-/opt/swift/usr/bin}"

# Progress and errors go to stderr so stdout stays clean for data (see scripts/test --fixtures-only).
log()  { printf '==> %s\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $*  (run as root or install sudo)"
    fi
}

# What building devenv needs besides the Swift toolchain and swift.org's list of what the toolchain
# needs: the C libraries of Package.swift's system library targets (found with pkg-config), GCC's
# C++ headers, which the toolchain's clang uses for TOMLKit's C++ core (swift.org's Debian 12 list
# lacks them: a fresh machine fails with "'cassert' file not found"), and the static libc the
# launcher is linked with.
DEVENV_BUILD_PACKAGES=(
    libgit2-dev libseccomp-dev libarchive-dev zlib1g-dev libzstd-dev pkg-config
    libstdc++-12-dev libc6-dev
)
# The programs devenv runs: image tools, the bootstrap of a Debian base, rootless id mapping
# (scripts/devenv checks for their commands on its fast path: keep the two lists in step).
DEVENV_HELPER_PACKAGES=(skopeo umoci mmdebstrap uidmap slirp4netns)

# Print the packages among "$@" that dpkg does not report as installed.
# dpkg-query exits 1 when any named package is unknown to it, which is exactly the case we are
# asking about: its status must not decide anything (under the callers' `set -e -o pipefail` it
# used to end this function before it printed a single name). Only a dpkg that cannot run fails.
missing_packages() {
    local statuses pkg
    command -v dpkg-query >/dev/null 2>&1 || { printf 'error: dpkg-query not found (these scripts need Debian)\n' >&2; return 1; }
    statuses="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' -- "$@" 2>/dev/null || true)"
    for pkg in "$@"; do
        grep -qxF -- "$pkg installed" <<<"$statuses" || printf '%s\n' "$pkg"
    done
}

# Install whatever of "$@" is missing: one quiet `apt-get update`, then one install; then check
# with dpkg that every one of them is installed, so a failure here can never pass for success.
ensure_packages() {
    local list missing
    list="$(missing_packages "$@")" || die "cannot ask dpkg which packages are installed"
    [[ -n $list ]] || return 0
    mapfile -t missing <<<"$list"
    info "installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
        || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 </dev/null \
        || die "apt-get install failed for: ${missing[*]}"
    list="$(missing_packages "$@")" || die "cannot ask dpkg which packages are installed"
    [[ -z $list ]] || die "still not installed after apt-get install: ${list//$'\n'/ }"
}

# Make `swift` callable, adding the toolchain to PATH when it is not already there.
ensure_swift_on_path() {
    if ! command -v swift >/dev/null 2>&1; then
        [[ -x $DEVENV_SWIFT_BIN/swift ]] || die "swift not found on PATH nor in $DEVENV_SWIFT_BIN"
        PATH="$DEVENV_SWIFT_BIN:$PATH"
        export PATH
    fi
}

# Seconds since the epoch, with fractions, for step timings (bash builtin: no fork).
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

# The release binary scripts/devenv and scripts/bench run. The Swift runtime and Foundation are
# linked statically: that saves about 9 ms of dynamic linking on every devenv start (measured
# with hyperfine: a warm `devenv run -- /bin/true` 41 -> 33 ms). A scratch path of its own keeps
# the debug build in .build/ untouched.
DEVENV_RELEASE_DIR="$DEVENV_REPO/.build-static"
DEVENV_RELEASE_BIN="$DEVENV_RELEASE_DIR/release/devenv"

build_release() {
    swift build -c release --static-swift-stdlib --scratch-path "$DEVENV_RELEASE_DIR" --package-path "$DEVENV_REPO" >&2
}
