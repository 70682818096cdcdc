#!/usr/bin/env bash
# Builds the repository's Dockerfile with podman and checks that the image runs, on a machine that has no Docker
# engine and cannot pull from a container registry (only a Debian apt mirror is reachable). Slow (the release build
# alone took 33 minutes on 2 busy cores), so it is not part of the default test run; see docs/kubernetes.md.
#
#   sudo scripts/container-image-check.sh              # build from the committed HEAD, check, keep the image
#   sudo scripts/container-image-check.sh --worktree   # build from the working tree (uncommitted edits included)
#   sudo scripts/container-image-check.sh --rebuild-bases   # recreate the two stand-in base images first
#   sudo scripts/container-image-check.sh --no-build   # only check the image built last time ($STAMPEDE_CHECK_IMAGE)
#   sudo scripts/container-image-check.sh --clean      # remove the images and the work directory, then exit
#
# The Dockerfile is used unchanged; only its build arguments are set. Its two base images are replaced by local
# stand-ins made here:
#   localhost/stampede-base/debian:bookworm-slim  debootstrap --variant=minbase of the Debian release, trimmed like
#                                                 the slim image (no docs, man pages, locales, apt lists or caches)
#   localhost/stampede-base/swift:6.3-bookworm    that image + the packages the Swift toolchain needs + this
#                                                 machine's toolchain at the same path (default /opt/swift)
# Both use this machine's Debian mirror, read from its apt sources at run time. When git on this machine redirects
# https://github.com/... to a local package mirror (url.<dir>.insteadOf), the stand-in swift image gets the same
# git configuration and the build mounts the mirror read-only, so `swift package resolve` works offline.
#
# Needs root, podman, a container runtime that works here (runc or crun), debootstrap; the script prints SKIP
# with the reason when one is missing or cannot start a container (install: apt-get install podman runc
# debootstrap uidmap). Uses loopback port 19581 (STAMPEDE_CHECK_PORT).
# Exit: 0 every check passed, 1 a check failed, 77 cannot run here (the SKIP line says why).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${STAMPEDE_CHECK_DIR:-/var/tmp/stampede-image-check}
PORT=${STAMPEDE_CHECK_PORT:-19581}
SUITE=${STAMPEDE_CHECK_SUITE:-bookworm}
BASE_IMAGE=localhost/stampede-base/debian:${SUITE}-slim
SWIFT_IMAGE=localhost/stampede-base/swift:6.3-${SUITE}
IMAGE=${STAMPEDE_CHECK_IMAGE:-localhost/stampede:check}
PREFIX=stampede-image-check   # every container this script starts is named $PREFIX-*
TOTAL=20000
# What the Swift toolchain and `swift build` need at run time (the official swift:*-bookworm image's list, plus C++).
SWIFT_PACKAGES=(binutils gcc g++ git libc6-dev libcurl4-openssl-dev libedit-dev libgcc-12-dev libncurses-dev
    libpython3-dev libsqlite3-dev libstdc++-12-dev libxml2-dev libz3-dev pkg-config tzdata uuid-dev zlib1g-dev
    ca-certificates)

from_worktree=false
build=true
rebuild_bases=false
clean=false
for arg in "$@"; do
    case "$arg" in
        --worktree) from_worktree=true ;;
        --no-build) build=false ;;
        --rebuild-bases) rebuild_bases=true ;;
        --clean) clean=true ;;
        -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
note() { echo "---- $*"; }
skip() {
    echo "SKIP: $*"
    echo "$passed passed, $failed failed (skipped: cannot run here)"
    exit 77
}
summary() { echo "$passed passed, $failed failed"; }

# ---------------------------------------------------------------------------------------------------- preflight
[ "$(id -u)" = 0 ] || skip "needs root (rootful podman, debootstrap)"
for tool in podman debootstrap git; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (apt-get install podman runc debootstrap uidmap)"
done

containers_of_this_script() { podman ps -a --format '{{.Names}}' | grep "^$PREFIX-" || true; }
cleanup() {
    local name
    for name in $(containers_of_this_script); do podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup   # leftovers of an interrupted earlier run

if $clean; then
    podman rmi -f "$IMAGE" "$SWIFT_IMAGE" "$BASE_IMAGE" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    echo "removed $IMAGE, $SWIFT_IMAGE, $BASE_IMAGE and $WORK"
    exit 0
fi

mkdir -p "$WORK"

# This machine's Debian mirror (from its apt sources, whatever their format), for debootstrap and the images.
apt_uri() {
    # shellcheck disable=SC2016  # $(...) are apt's format fields, not shell
    apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
        awk -v s="$1" '$2 == s && $3 == "main" { sub("/$", "", $1); print $1; exit }'
}
DEBIAN_URI=$(apt_uri "$SUITE")
UPDATES_URI=$(apt_uri "$SUITE-updates")
SECURITY_URI=$(apt_uri "$SUITE-security")
[ -n "$DEBIAN_URI" ] || skip "no '$SUITE main' entry in this machine's apt sources (needed for debootstrap)"

# The toolchain: the directory holding usr/bin/swift (default: where `swift` on PATH comes from).
if [ -z "${SWIFT_TOOLCHAIN:-}" ] && command -v swift >/dev/null; then
    SWIFT_TOOLCHAIN=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
fi
SWIFT_TOOLCHAIN=${SWIFT_TOOLCHAIN:-/opt/swift}
[ -x "$SWIFT_TOOLCHAIN/usr/bin/swift" ] || skip "no Swift toolchain at $SWIFT_TOOLCHAIN (set SWIFT_TOOLCHAIN)"

# git's url.<dir>.insteadOf redirections to local directories (the offline package mirror), all scopes.
: >"$WORK/gitconfig"
MIRROR_DIRS=()
while read -r key value; do
    base=${key#url.}
    base=${base%.insteadof}
    git config -f "$WORK/gitconfig" --add "url.$base.insteadOf" "$value"
    case "$base" in
        /*) [ -d "$base" ] && MIRROR_DIRS+=("${base%/}") ;;
    esac
done < <(git config --get-regexp '^url\..*\.insteadof$' || true)
mapfile -t MIRROR_DIRS < <(printf '%s\n' "${MIRROR_DIRS[@]+"${MIRROR_DIRS[@]}"}" | sed '/^$/d' | sort -u)
VOLUMES=()
for dir in "${MIRROR_DIRS[@]+"${MIRROR_DIRS[@]}"}"; do VOLUMES+=(--volume "$dir:$dir:ro"); done

# ---------------------------------------------------------------------------------------------------- base image
sources_file() {   # deb822 sources for the images, pointing at this machine's mirrors
    printf 'Types: deb\nURIs: %s\nSuites: %s%s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$DEBIAN_URI" "$SUITE" "${UPDATES_URI:+ $SUITE-updates}"
    if [ -n "$SECURITY_URI" ]; then
        printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$SECURITY_URI" "$SUITE"
    fi
}

image_exists() { podman image exists "$1"; }

if $rebuild_bases; then podman rmi -f "$IMAGE" "$SWIFT_IMAGE" "$BASE_IMAGE" >/dev/null 2>&1 || true; fi

if ! image_exists "$BASE_IMAGE"; then
    note "debootstrap $SUITE (minbase) -> $BASE_IMAGE"
    rootfs="$WORK/rootfs"
    rm -rf "$rootfs"
    if ! nice -n 19 debootstrap --variant=minbase "$SUITE" "$rootfs" "$DEBIAN_URI" >"$WORK/debootstrap.log" 2>&1; then
        tail -5 "$WORK/debootstrap.log"
        skip "debootstrap failed (log: $WORK/debootstrap.log)"
    fi
    # Trim like debian:*-slim: no docs (but copyrights), man pages, locales; no apt lists or package cache.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda,locale}/* "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
    rm -f "$rootfs/etc/apt/sources.list"
    sources_file >"$rootfs/etc/apt/sources.list.d/debian.sources"
    tar -C "$rootfs" --numeric-owner -c . |
        podman import --quiet --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
fi

# ------------------------------------------------------------------------- a container runtime that works here
# crun refuses hybrid cgroup v1/v2 hosts ("cgroups in hybrid mode not supported"); runc does not. Podman raises
# RLIMIT_NOFILE/NPROC for root containers beyond what some sandboxes allow ("setrlimit ... Operation not
# permitted"), so use this shell's limits, lowering NPROC until the runtime accepts it.
RUNTIME=""
ULIMITS=()
probe_errors=""
for runtime in runc crun; do
    command -v "$runtime" >/dev/null || continue
    for nproc in "$(ulimit -Hu)" 32768 4096; do
        [ "$nproc" = unlimited ] && nproc=1048576
        limits=(--ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
        if out=$(podman --runtime "$runtime" run --rm "${limits[@]}" "$BASE_IMAGE" true 2>&1); then
            RUNTIME=$runtime
            ULIMITS=("${limits[@]}")
            break 2
        fi
        probe_errors+="  $runtime, nproc=$nproc: $out"$'\n'
    done
done
if [ -z "$RUNTIME" ]; then
    printf '%s' "$probe_errors"
    skip "podman cannot start a container here with runc or crun (errors above)"
fi
note "runtime $RUNTIME, ${ULIMITS[*]}"
PODMAN=(podman --runtime "$RUNTIME")
RUN=("${PODMAN[@]}" run "${ULIMITS[@]}")

# ---------------------------------------------------------------------------------------------- swift image
if ! image_exists "$SWIFT_IMAGE"; then
    note "$SWIFT_IMAGE: $BASE_IMAGE + toolchain packages + $SWIFT_TOOLCHAIN"
    prep="$PREFIX-swift-prep"
    nice -n 19 "${RUN[@]}" --name "$prep" --network=host \
        --volume "$SWIFT_TOOLCHAIN:/mnt/toolchain:ro" --volume "$WORK/gitconfig:/mnt/gitconfig:ro" \
        "$BASE_IMAGE" bash -euc "
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -q
            apt-get install -y -q --no-install-recommends ${SWIFT_PACKAGES[*]}
            rm -rf /var/lib/apt/lists/*
            mkdir -p '$(dirname "$SWIFT_TOOLCHAIN")'
            cp -a /mnt/toolchain '$SWIFT_TOOLCHAIN'
            cp /mnt/gitconfig /etc/gitconfig
            '$SWIFT_TOOLCHAIN/usr/bin/swift' --version" >"$WORK/swift-image.log" 2>&1 || {
        tail -20 "$WORK/swift-image.log"
        fail "stand-in swift image (log: $WORK/swift-image.log)"
        summary
        exit 1
    }
    "${PODMAN[@]}" commit -q \
        --change "ENV PATH=$SWIFT_TOOLCHAIN/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change 'CMD ["bash"]' "$prep" "$SWIFT_IMAGE" >/dev/null
    "${PODMAN[@]}" rm "$prep" >/dev/null
fi
note "stand-in swift: $("${RUN[@]}" --rm "$SWIFT_IMAGE" swift --version 2>&1 | head -1)"

# ---------------------------------------------------------------------------------------------------- build
context="$REPO"
if ! $build; then
    image_exists "$IMAGE" || skip "--no-build: there is no $IMAGE to check"
    note "--no-build: checking $IMAGE as it is"
elif ! $from_worktree; then
    context="$WORK/context"
    rm -rf "$context"
    mkdir -p "$context"
    git -C "$REPO" archive HEAD | tar -x -C "$context"
    note "building from HEAD $(git -C "$REPO" rev-parse --short HEAD) (--worktree for the working tree)"
fi
if $build; then
    note "podman build (log: $WORK/build.log)"
    build_start=$(date +%s)
    if nice -n 19 "${PODMAN[@]}" build "${ULIMITS[@]}" --network=host "${VOLUMES[@]+"${VOLUMES[@]}"}" \
        --build-arg "SWIFT_IMAGE=$SWIFT_IMAGE" --build-arg "RUNTIME_IMAGE=$BASE_IMAGE" \
        --file "$context/Dockerfile" --tag "$IMAGE" "$context" >"$WORK/build.log" 2>&1; then
        build_seconds=$(($(date +%s) - build_start))
        pass "podman build of the repository's Dockerfile as it is, build args only (${build_seconds}s; cached layers take no time)"
    else
        tail -30 "$WORK/build.log"
        fail "podman build (log: $WORK/build.log)"
        summary
        exit 1
    fi
fi

# ---------------------------------------------------------------------------------------------------- checks
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
base_size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$BASE_IMAGE")
note "image $IMAGE: $((size / 1000000)) MB, of which $(((size - base_size) / 1000000)) MB on top of the stand-in base"

if help=$("${RUN[@]}" --rm "$IMAGE" 2>&1) && grep -q 'SUBCOMMANDS' <<<"$help" && grep -q 'server' <<<"$help"; then
    pass "default command (--help) lists the subcommands"
else
    fail "default command: $help"
fi

version=$("${RUN[@]}" --rm "$IMAGE" --version 2>&1 || true)
if [[ "$version" =~ ^[0-9]+\.[0-9]+ ]]; then pass "stampede --version: $version"; else fail "--version: $version"; fi

user=$("${PODMAN[@]}" image inspect --format '{{.Config.User}}' "$IMAGE")
ids=$("${RUN[@]}" --rm --entrypoint id "$IMAGE" 2>&1 || true)
if [ "$user" = 10001 ] && grep -q '^uid=10001(stampede)' <<<"$ids"; then
    pass "runs as uid 10001 ($ids)"
else
    fail "user: Config.User=$user, id: $ids"
fi

workdir=$("${RUN[@]}" --rm --entrypoint sh "$IMAGE" -c 'pwd && touch x && rm x && echo writable' 2>&1 || true)
if [ "$workdir" = $'/data\nwritable' ]; then pass "working directory /data, writable by the user"; else fail "workdir: $workdir"; fi

ldd_out=$("${RUN[@]}" --rm --entrypoint ldd "$IMAGE" /usr/local/bin/stampede 2>&1 || true)
if grep -q 'libc.so.6 =>' <<<"$ldd_out" && ! grep -q 'not found' <<<"$ldd_out"; then
    pass "ldd: every shared library found ($(awk '{print $1}' <<<"$ldd_out" | tr '\n' ' '))"
else
    fail "ldd: $ldd_out"
fi
if grep -q 'libswift\|libFoundation' <<<"$ldd_out"; then
    fail "Swift runtime linked dynamically: $ldd_out"
else
    pass "Swift standard library and Foundation linked statically"
fi

# The embedded server in one container, a bounded run and a separate verify in two more, over loopback, with the
# capabilities a container gets by default (as under Docker or Kubernetes). A client or server socket option that
# needs CAP_NET_ADMIN fails there with EACCES (seen before 19f4371: SO_DEBUG, which is what
# ChannelOptions.socketOption(.tcp_nodelay) sets: option 1 at the SOL_SOCKET level; TCP_NODELAY needs .tcpOption);
# then the same is repeated with --cap-add NET_ADMIN so that the rest of the image is still checked, and the first
# attempt stays a FAIL.
serve_run_verify() {   # $1: label; the rest: extra podman run options for the three containers
    local label=$1 run_id epoch status listening run_out verify_out
    shift
    note "server on 127.0.0.1:$PORT, run --total $TOTAL, verify ($label)"
    "${RUN[@]}" -d --name "$PREFIX-server" --network=host "$@" "$IMAGE" server --host 127.0.0.1 --port "$PORT" >/dev/null
    listening=false
    for _ in $(seq 1 60); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then listening=true; break; fi
        sleep 0.5
    done
    if $listening; then
        pass "server container listens on 127.0.0.1:$PORT ($label)"
    else
        fail "server not listening ($label): $("${PODMAN[@]}" logs "$PREFIX-server" 2>&1 | tail -5)"
    fi

    run_id="image-check-$(date +%s)"
    epoch=$(($(date +%s) * 1000))
    run_ok=false
    if run_out=$("${RUN[@]}" --rm --name "$PREFIX-run" --network=host "$@" "$IMAGE" run \
        --contact-points "127.0.0.1:$PORT" --apply-schema --total "$TOTAL" --run-id "$run_id" --epoch-millis "$epoch" \
        --quiet 2>&1); then
        run_ok=true
        pass "run --total $TOTAL against the server container ($label): $(grep -E '^(all |messages written)' <<<"$run_out" | tr -s ' ' | tr '\n' ' ')"
    else
        run_error=$(grep -m1 'Error' <<<"$run_out" || tail -3 <<<"$run_out")
        fail "run --total $TOTAL against the server container ($label): $run_error"
    fi

    if $run_ok; then
        if verify_out=$("${RUN[@]}" --rm --name "$PREFIX-verify" --network=host "$@" "$IMAGE" verify \
            --contact-points "127.0.0.1:$PORT" --run-id "$run_id" --epoch-millis "$epoch" --total "$TOTAL" 2>&1); then
            pass "verify (separate container) exit 0 ($label): $(grep -E '^ *(found|acknowledged but MISSING|phantoms) ' <<<"$verify_out" | tr -s ' ' | tr '\n' ' ')"
        else
            fail "verify ($label): $(tail -8 <<<"$verify_out")"
        fi
    fi

    "${PODMAN[@]}" stop -t 10 "$PREFIX-server" >/dev/null 2>&1 || true
    status=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$PREFIX-server" 2>/dev/null || echo '?')
    if [ "$status" = 0 ]; then pass "server container stops cleanly on SIGTERM ($label)"; else fail "server exit status after SIGTERM ($label): $status"; fi
    "${PODMAN[@]}" rm -f "$PREFIX-server" >/dev/null 2>&1 || true
}

run_error=""
serve_run_verify "default capabilities"
if ! $run_ok && grep -q 'setsockopt.*Permission denied' <<<"$run_error"; then
    echo "     (a socket option that needs CAP_NET_ADMIN, see the comment above serve_run_verify; it fails the same"
    echo "      way for a non-root user outside containers. Checking the rest with --cap-add NET_ADMIN.)"
    serve_run_verify "--cap-add NET_ADMIN" --cap-add NET_ADMIN
fi

summary
[ "$failed" = 0 ]
