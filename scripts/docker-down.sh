#!/bin/sh
# Stop the engine started by docker-up.sh (by its pidfile only). PURGE=1 also deletes its state.
# DK_DIR: the same state dir docker-up.sh used (default: this checkout's, scripts/docker-dir.sh).
set -eu
DK_DIR="${DK_DIR:-$(sh "$(dirname "$0")/docker-dir.sh")}"
SUDO=""; [ "$(id -u)" = 0 ] || ! command -v sudo >/dev/null 2>&1 || SUDO="sudo"
if [ -f "$DK_DIR/dockerd.pid" ]; then
  PID="$(cat "$DK_DIR/dockerd.pid")"
  # only a dockerd (a stale pidfile's number may belong to another process by now); /proc rather
  # than kill -0, which a non-root caller cannot send to root's dockerd
  if [ "$(cat "/proc/$PID/comm" 2>/dev/null)" = dockerd ] && $SUDO kill "$PID" 2>/dev/null; then
    i=0; while [ -d "/proc/$PID" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
  fi
fi
# dockerd stops its own containerd child; running containers are killed on shutdown.
if [ "${PURGE:-0}" = 1 ]; then
  # overlay mounts of still-existing containers are unmounted by dockerd on clean stop; the
  # network namespace dockerd bind-mounts for host-network containers is not
  for ns in "$DK_DIR"/exec/netns/*; do [ -e "$ns" ] && $SUDO umount "$ns" 2>/dev/null || true; done
  $SUDO rm -rf "$DK_DIR"
fi
