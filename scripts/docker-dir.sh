#!/bin/sh
# Prints the default state folder of the engine docker-up.sh starts for this checkout (docker-up.sh
# and docker-down.sh agree through it): one per checkout, so concurrent runs in two checkouts never
# share an engine or stop each other's. It lives under $TMPDIR, keyed by a checksum of the
# checkout's path, because the socket's path must stay under 108 bytes.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
echo "${TMPDIR:-/tmp}/cozy-dockerd-$(printf %s "$ROOT" | cksum | cut -d' ' -f1)"
