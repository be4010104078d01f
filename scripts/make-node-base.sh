#!/bin/sh
# Build a minimal base image containing the host's Node.js (+ the shared libs it
# needs, + /bin/sh) WITHOUT any registry, and load it with `docker import`.
# Usage: make-node-base.sh [image-tag]   (DOCKER_HOST selects the engine)
# Env:   WITH_NPM=1      also copy npm (/usr/lib/node_modules/npm) + /usr/bin/npm symlink
#        WITH_BUSYBOX=1  add busybox applets (needs `apt-get install busybox-static`)
#        OUT_TAR=<file>  write the rootfs tar there instead of running `docker import`
#        LIBS_FOR="<files>"  also copy the shared libraries these files need (native addons)
set -eu
TAG="${1:-local/node-base:$(node -p 'process.versions.node')}"
NODE="$(readlink -f "$(command -v node)")"
ROOT="$(mktemp -d -t node-rootfs.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT

copy() { # copy a file keeping its absolute path (following symlinks for the content)
  mkdir -p "$ROOT$(dirname "$1")"
  cp -L "$1" "$ROOT$1"
}

mkdir -p "$ROOT/bin" "$ROOT/usr/bin" "$ROOT/tmp" "$ROOT/etc" "$ROOT/root" \
         "$ROOT/dev" "$ROOT/proc" "$ROOT/sys" "$ROOT/app"
chmod 1777 "$ROOT/tmp"

libs_of() { # the system libraries ldd reports for a file (incl. the loader)
  ldd "$1" | awk '/=> \//{print $3} /^[ \t]*\/lib/{print $1}' | grep -E '^/(usr/)?lib' | sort -u | while read -r lib; do
    copy "$lib"
  done
}
# node + dash (as /bin/sh) + env and their libraries
for bin in "$NODE" /bin/dash /usr/bin/env; do   # env: for "#!/usr/bin/env node" shebangs (npm, npx, bins)
  copy "$bin"
  libs_of "$bin"
done
for file in ${LIBS_FOR:-}; do libs_of "$file"; done
[ "$NODE" = /usr/bin/node ] || ln -sf "$NODE" "$ROOT/usr/bin/node"
ln -sf /bin/dash "$ROOT/bin/sh"
# Debian is merged-/usr: /lib64 and /lib are real dirs in our tree (fine for ld.so)

if [ "${WITH_NPM:-0}" = 1 ]; then
  mkdir -p "$ROOT/usr/lib/node_modules"
  cp -a /usr/lib/node_modules/npm "$ROOT/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/bin/npx"
fi
if [ "${WITH_BUSYBOX:-0}" = 1 ]; then
  cp /bin/busybox "$ROOT/bin/busybox"
  for a in $("$ROOT/bin/busybox" --list); do
    [ -e "$ROOT/bin/$a" ] || [ -e "$ROOT/usr/bin/$a" ] || ln -s busybox "$ROOT/bin/$a"
  done
fi

printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/app:/bin/sh\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$ROOT/etc/group"

if [ -n "${OUT_TAR:-}" ]; then   # only write the rootfs tarball (for docker.importImage / FROM scratch+ADD)
  tar -C "$ROOT" --numeric-owner -cf "$OUT_TAR" .
  echo "wrote $OUT_TAR"; exit 0
fi
tar -C "$ROOT" --numeric-owner -cf - . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  -c 'WORKDIR /app' \
  -c 'CMD ["node"]' \
  - "$TAG"
echo "built $TAG"
