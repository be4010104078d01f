#!/bin/bash
# The GPU harness's device side (scripts/gpu-stage makes the payloads and copies this file into both as
# device.sh). The GPU host has no Node, no npm and no network, and takes at most 64 MiB per transfer,
# so a run is two calls back to back on the same warm machine:
#   bash .gpuort/p/device.sh stage     call 1: unpacks node, onnxruntime-node 1.29.0 and the app tree
#                                      (bundled gpu-check and serving bench, models, a pre-filled model
#                                      cache) to $W, finds the CUDA 13 / cuDNN 9 libraries, and runs a
#                                      short CPU sanity check
#   bash .gpuort/pc/device.sh measure  call 2: puts the sm_90-pruned CUDA provider next to
#                                      libonnxruntime.so.1, then runs A: scripts/gpu-check (gen-worker's
#                                      sessions and bare ones, CUDA and CPU) and B: bench/serving.mjs
#                                      (dynamic batching and warm start) on cuda, then on cpu
# Call 2 on a fresh machine prints STAGE MISSING and exits 3: run both again.
# Results go to $OUT (the device tool brings that folder back): device-<mode>.log, A.json, B-<provider>.txt.
# Env: W (work folder, default $TMPDIR/gpuw), RUNS (gpu-check runs, 50), SKIP (A and/or B), and the
# bench's own knobs (BENCH_SERVING_SECONDS, BENCH_SERVING_ROUNDS, BENCH_SERVING_CLIENTS, BENCH_WARM_REPEATS).
set -u
MODE=${1:-measure}
HERE=$(cd "$(dirname "$0")" && pwd)
W=${W:-${TMPDIR:-/tmp}/gpuw}; R=$W/root; X=$R/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
OUT=${OUT:-$W/out}; mkdir -p "$OUT"
exec > >(tee -a "$OUT/device-$MODE.log") 2>&1
T0=$(date +%s.%N)
el() { python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}s')" "$T0" "$(date +%s.%N)"; }
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"), 1<<22)' "$1" "$2"; fi
}
untar_xz() {
  if command -v xz >/dev/null && tar --version >/dev/null 2>&1; then tar -C "$2" -xJf "$1"
  else python3 -c 'import tarfile,sys; t=tarfile.open(sys.argv[1]); t.extractall(sys.argv[2], filter="fully_trusted")' "$1" "$2"; fi
}

echo "== $MODE on $(hostname) $(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -2

if [ "$MODE" = stage ]; then
  rm -rf "$R" "$W/STAGED"; mkdir -p "$W"
  unxz_to "$HERE/node.xz" "$W/node" & p1=$!
  untar_xz "$HERE/app.tar.xz" "$W" & p2=$!
  wait $p1 $p2
  chmod +x "$W/node"
  unxz_to "$HERE/libonnxruntime.so.1.xz" "$X/libonnxruntime.so.1"
  echo "unpacked in $(el)"; du -sh "$W/node" "$R" | tr '\n' ' '; echo
  # CUDA 13 / cuDNN 9 user-space libraries: the host python's nvidia packages, else the toolkit.
  SP=$(python3 -c 'import site; print(" ".join(site.getsitepackages()+[site.getusersitepackages()]))' 2>/dev/null)
  LDP=$(for l in libcublasLt.so.13 libcublas.so.13 libcudart.so.13 libcurand.so.10 libcudnn.so.9 libcufft.so.12 libnvrtc.so.13 libnvJitLink.so.13; do
          f=$(for d in $SP; do [ -d "$d/nvidia" ] && find "$d/nvidia" -name "$l" -print -quit 2>/dev/null; done | head -1)
          [ -n "$f" ] || f=$(find /usr/local/cuda/lib64/ /usr/local/cuda/targets/ -name "$l" -print -quit 2>/dev/null)
          [ -n "$f" ] && dirname "$f" || echo "NOT FOUND: $l" >&2
        done | sort -u | paste -sd:)
  echo "$LDP" > "$W/ldpath"; echo "LD_LIBRARY_PATH add: $LDP"
  (cd "$R" && "$W/node" -e "const o=require('onnxruntime-node'); console.log('node', process.version, 'onnxruntime-node', require('onnxruntime-node/package.json').version, 'binding ok:', typeof o.InferenceSession.create)")
  # CPU sanity of the whole chain (short): gpu-check with 2 runs (CUDA fails here: no provider yet).
  (cd "$R" && timeout 120 "$W/node" scripts/gpu-check --runs 2 | tail -4)
  touch "$W/STAGED"; echo "== staged in $(el)"
  exit 0
fi

# ---- measure
[ -f "$W/STAGED" ] && [ -x "$W/node" ] || { echo "STAGE MISSING: no $W/STAGED (fresh machine?); run stage first"; exit 3; }
if [ -f "$HERE/cuda.so.xz" ]; then
  unxz_to "$HERE/cuda.so.xz" "$X/libonnxruntime_providers_cuda.so"
  cp "$HERE/libonnxruntime_providers_shared.so" "$X/"
else
  echo "no CUDA provider in this payload: CUDA rows will say why"
fi
[ -d "$HERE/bench" ] && cp -r "$HERE"/bench/. "$R/bench/"   # the latest bench bundles travel with this call
export LD_LIBRARY_PATH="$(cat "$W/ldpath")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; echo "cuda EP ready in $(el)"
SKIP=${SKIP:-}
if [[ "$SKIP" != *A* ]]; then
  echo "== A: scripts/gpu-check (gen-worker's sessions and bare ones, cuda and cpu)"; t=$(date +%s)
  (cd "$R" && timeout 300 "$W/node" scripts/gpu-check --runs "${RUNS:-50}" --json > "$OUT/A.json"; echo "rc=$?")
  cat "$OUT/A.json"; echo "A took $(( $(date +%s) - t ))s, at $(el)"
fi
if [[ "$SKIP" != *B* ]]; then
  for provider in ${PROVIDERS:-cuda cpu}; do
    echo "== B: bench/serving.mjs on $provider (dynamic batching, warm start)"; t=$(date +%s)
    (cd "$R" && BENCH_PREBUILT=1 BENCH_SERVING_WORK="$R/serving-work" BENCH_PROVIDERS="$provider" \
      timeout 400 "$W/node" bench/serving.mjs > "$OUT/B-$provider.txt" 2>&1; echo "rc=$?")
    cat "$OUT/B-$provider.txt"; echo "B ($provider) took $(( $(date +%s) - t ))s, at $(el)"
  done
fi
nvidia-smi --query-gpu=name,driver_version,memory.used,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv 2>&1
echo "== done in $(el)"
