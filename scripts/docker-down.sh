#!/bin/sh
# Stop the engine started by docker-up.sh (by its pidfile only). PURGE=1 also deletes its state.
set -eu
DK_DIR="${DK_DIR:-${TMPDIR:-/tmp}/cozy-dockerd}"
if [ -f "$DK_DIR/dockerd.pid" ]; then
  PID="$(cat "$DK_DIR/dockerd.pid")"
  if kill "$PID" 2>/dev/null; then
    i=0; while kill -0 "$PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
  fi
fi
# dockerd stops its own containerd child; running containers are killed on shutdown.
if [ "${PURGE:-0}" = 1 ]; then
  # overlay mounts of still-existing containers are unmounted by dockerd on clean stop; the
  # network namespace dockerd bind-mounts for host-network containers is not
  for ns in "$DK_DIR"/exec/netns/*; do [ -e "$ns" ] && umount "$ns" 2>/dev/null || true; done
  rm -rf "$DK_DIR"
fi
