# shellcheck shell=bash
# A pristine Debian 12 machine in a folder, for `scripts/test --fresh-root`: what a new developer or
# a new CI machine has before running the README's commands, and nothing this machine gained since.
#
#   Debian 12 (mmdebstrap --variant=minbase bookworm)
#   + the Swift toolchain as swift.org installs it: its Debian 12 dependency list (below), the
#     toolchain at /opt/swift and the Swift packages at /opt/swift-packages (both this machine's,
#     bound read-only) and the /etc/gitconfig that points https://github.com/ at the latter
#
# The root is entered with a mount namespace of its own and pivot_root, not chroot: the kernel
# refuses user namespaces to a chrooted process, and devenv's rootless tests need them. Processes
# inside share this machine's network and pids (the registries listen on its 127.0.0.1).
# Source after scripts/lib/common.sh.

# swift.org's "Installation via Tarball", Debian 12.
SWIFT_ORG_DEBIAN12_PACKAGES=(
    binutils-gold gcc git libcurl4-openssl-dev libedit-dev libicu-dev libncurses-dev
    libpython3-dev libsqlite3-dev libxml2-dev pkg-config tzdata uuid-dev
)
FRESH_ROOT_MIRROR="${DEVENV_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# make_fresh_root DIR CACHE — a new pristine root in DIR (which must not exist). The mmdebstrap
# tarball is cached in CACHE, keyed by the package list and the mirror; every root is unpacked anew.
make_fresh_root() {
    local dir="$1" cache="$2" key tarball start
    key="$(printf '%s\n' "${SWIFT_ORG_DEBIAN12_PACKAGES[@]}" "$FRESH_ROOT_MIRROR" | sha256sum | cut -c1-16)"
    tarball="$cache/fresh-root-bookworm-$key.tar"
    mkdir -p "$cache"
    if [[ ! -f $tarball ]]; then
        start="$(now)"
        info "mmdebstrap --variant=minbase bookworm + swift.org's Debian 12 list (cached in $tarball)"
        rm -f "$cache"/fresh-root-bookworm-*.tar
        local include
        include="$(IFS=,; printf '%s' "${SWIFT_ORG_DEBIAN12_PACKAGES[*]}")"
        mmdebstrap --quiet --mode=root --format=tar --variant=minbase --include="$include" \
            bookworm "$tarball.tmp" "$FRESH_ROOT_MIRROR" </dev/null >&2 \
            || { rm -rf "$tarball.tmp"; die "mmdebstrap of the fresh root failed"; }
        mv -f "$tarball.tmp" "$tarball"
        info "fresh root tarball made in $(elapsed_since "$start")"
    fi
    mkdir "$dir"
    tar -C "$dir" --numeric-owner --xattrs --xattrs-include='*' -xpf "$tarball"
    mkdir -p "$dir/opt/swift" "$dir/opt/swift-packages" "$dir/src"
    # The machine's network setup, which comes with the machine rather than with a package: name
    # resolution, and the CA certificates it trusts (an egress proxy that re-signs TLS has its CA
    # only there; pip in a build step would reject PyPI without it). The local CAs are copied too,
    # so a ca-certificates package installed later keeps them in the bundle it regenerates.
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    mkdir -p "$dir/etc/ssl/certs" "$dir/usr/local/share/ca-certificates"
    [[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/"
    cp -r /usr/local/share/ca-certificates/. "$dir/usr/local/share/ca-certificates/" 2>/dev/null || true
    # The workplace's git setup for the Swift packages, as on every machine that has them.
    local f
    for f in /etc/gitconfig /etc/gitignore; do
        [[ -f $f ]] && cp "$f" "$dir$f"
    done
    return 0
}

# copy_checkout_into_root DIR — the working tree's files git knows of (tracked, and new files not
# ignored: uncommitted work is tested too), without .git and build folders, at DIR/src/devenv.
copy_checkout_into_root() {
    local dest="$1/src/devenv"
    mkdir -p "$dest"
    git -C "$DEVENV_REPO" ls-files -z --cached --others --exclude-standard \
        | (cd "$DEVENV_REPO" && xargs -0 -r stat --printf='%n\0' 2>/dev/null) \
        | tar -C "$DEVENV_REPO" --null -T - -cf - \
        | tar -C "$dest" -xf -
    git -C "$dest" init -q
}

# run_in_root DIR COMMAND... — COMMAND as root inside DIR, in a mount namespace whose root is DIR,
# with a clean environment (as a login on the new machine would have), this machine's /opt/swift and
# /opt/swift-packages read-only, and /proc, /sys, /dev. Exits with COMMAND's status.
run_in_root() {
    local dir="$1"
    shift
    unshare --mount --propagation private -- /bin/bash -euc '
        root="$1"; shift
        mount --bind "$root" "$root"
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"
        mount --rbind /dev "$root/dev"
        mount -t tmpfs -o mode=0755 tmpfs "$root/run"
        for d in /opt/swift /opt/swift-packages; do
            mount --bind "$d" "$root$d"
            mount -o remount,bind,ro "$root$d"
        done
        cd "$root"
        mkdir -p .host-root
        pivot_root . .host-root
        cd /
        umount -l /.host-root
        rmdir /.host-root
        exec env -i HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
    ' fresh-root "$dir" "$@"
}
