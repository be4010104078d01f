# A GPU image for a gen-worker project: NVIDIA's CUDA 12 runtime with cuDNN 9, and Node.js
# copied from the official Node.js image. Build it with cozy-worker build --gpu (or copy it into
# your project as Dockerfile). cozy-worker build stages gen-worker and the production dependencies
# from this machine's node_modules into an image passed as GEN_WORKER_DEPS, so the build itself
# downloads nothing but the base images. onnxruntime-node's CUDA provider comes from
# node_modules/onnxruntime-node/bin/napi-v6/linux/x64: fetch it there on the host first with
#   ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js
# (projects made by cozy-worker init deny onnxruntime-node's install script in package.json
# "allowScripts", so npm install leaves it out).
#   cozy-worker build --gpu -t my-worker:gpu
#   cozy-worker build --gpu -t my-worker:gpu --base-image nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
ARG NODE_VERSION=22
ARG NODE_IMAGE=node:${NODE_VERSION}-bookworm-slim
ARG BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
ARG GEN_WORKER_DEPS
FROM ${NODE_IMAGE} AS node
FROM ${GEN_WORKER_DEPS} AS deps

FROM ${BASE_IMAGE}
# Node.js from the official image (its binary needs only glibc and libstdc++).
COPY --from=node /usr/local/bin/node /usr/local/bin/node

# A non-root user for the worker (the CUDA images have none of their own).
RUN groupadd --gid 10001 cozy \
 && useradd --uid 10001 --gid cozy --home-dir /home/cozy --create-home --shell /usr/sbin/nologin cozy

ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH \
    HOME=/home/cozy \
    XDG_CACHE_HOME=/home/cozy/.cache
WORKDIR /app

# Dependencies first: this layer changes only when they do, so a change to the handlers
# rebuilds in seconds.
COPY --from=deps /node_modules/ ./node_modules/

# Then the project, with the handler bundle cozy-worker build made (.cozy/bundle/main.mjs),
# which the worker imports at start.
COPY . .

# Bake the manifest: the platform reads /app/.cozy/manifest.json from the image.
RUN mkdir -p /app/.cozy && cozy-worker discover > /app/.cozy/manifest.json

# The files stay owned by root (read-only to the worker); runs write under /tmp.
USER cozy:cozy

ENTRYPOINT ["cozy-worker", "serve"]
