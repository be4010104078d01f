#!/bin/sh
# Start a private Docker engine (Debian's docker.io: dockerd 20.10 + containerd 1.6 + runc)
# for tests/CI on hosts without systemd and without a registry, then make sure the local
# Node base image exists. Idempotent. Prints `export DOCKER_HOST=...` on stdout. Needs root for
# dockerd and apt-get; when not root, runs them with sudo.
#   DK_DIR      state dir: data/, exec/, docker.sock, dockerd.pid, dockerd.log. Default: one per
#               checkout, $TMPDIR/cozy-dockerd-<checksum of its path> (scripts/docker-dir.sh), so
#               two checkouts never share an engine. Set it (to the same value for docker-down.sh)
#               to share one engine between checkouts, or to keep its state elsewhere.
#   DK_NETWORK  none (default: no bridge, no iptables; containers/builds only get `lo`)
#               bridge (docker0 + iptables NAT: containers reach the outside, -p works)
#   BASE_TAG    base image tag (default local/node-base:<host node version>): the host's node,
#               its libraries, /bin/sh and busybox (mkdir and friends, for Dockerfile RUN steps)
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DK_DIR="${DK_DIR:-$(sh "$HERE/docker-dir.sh")}"
DK_NETWORK="${DK_NETWORK:-none}"
SOCK="$DK_DIR/docker.sock"
BASE_TAG="${BASE_TAG:-local/node-base:$(node -p 'process.versions.node')}"
log() { echo "[docker-up] $*" >&2; }
# Sets SUDO for commands that need root ($1 names them in the error).
SUDO=""
need_root() {
  [ "$(id -u)" != 0 ] || return 0
  command -v sudo >/dev/null 2>&1 || { log "$1 needs root: run this script as root, or install sudo"; exit 1; }
  SUDO="sudo"
}

if ! command -v dockerd >/dev/null 2>&1 || { [ "${WITH_BUSYBOX:-1}" = 1 ] && [ ! -x /bin/busybox ]; }; then
  log "installing docker.io and busybox-static (apt)"
  need_root apt-get
  # other processes may hold the dpkg lock: wait for it instead of failing
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends docker.io busybox-static >&2
fi
command -v docker >/dev/null 2>&1 || { log "no docker CLI"; exit 1; }

export DOCKER_HOST="unix://$SOCK"
if docker version >/dev/null 2>&1; then
  log "engine already up on $SOCK"
else
  mkdir -p "$DK_DIR"
  case "$DK_NETWORK" in
    none)   NETFLAGS="--iptables=false --ip-masq=false --bridge=none" ;;
    bridge) NETFLAGS="" ;;
    *) log "DK_NETWORK must be none|bridge"; exit 2 ;;
  esac
  need_root dockerd
  # not root: the socket's group is the caller's, so docker works without sudo
  GROUPFLAG=""; [ -z "$SUDO" ] || GROUPFLAG="--group=$(id -gn)"
  # setsid+nohup: the daemon survives the calling shell; stdin closed so CI steps don't hang
  # shellcheck disable=SC2086
  $SUDO setsid nohup dockerd \
    --data-root "$DK_DIR/data" --exec-root "$DK_DIR/exec" --pidfile "$DK_DIR/dockerd.pid" \
    -H "unix://$SOCK" --storage-driver=overlay2 $NETFLAGS $GROUPFLAG \
    </dev/null >"$DK_DIR/dockerd.log" 2>&1 &
  i=0
  until docker version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then log "dockerd did not come up; see $DK_DIR/dockerd.log"; tail -20 "$DK_DIR/dockerd.log" >&2; exit 1; fi
    sleep 0.1
  done
  log "dockerd pid $(cat "$DK_DIR/dockerd.pid") up on $SOCK after ~$((i / 10))s"
fi

if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  log "creating base image $BASE_TAG"
  # onnxruntime-node's native files need librt and friends, which node itself does not
  ORT="$HERE/../node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
  LIBS_FOR="$(ls "$ORT"/*.so* "$ORT"/*.node 2>/dev/null | tr '\n' ' ')" \
    WITH_BUSYBOX="${WITH_BUSYBOX:-1}" "$HERE/make-node-base.sh" "$BASE_TAG" >&2
fi
echo "export DOCKER_HOST=unix://$SOCK"
