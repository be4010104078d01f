# A GPU image for a gen-worker project: NVIDIA's CUDA 12 runtime with cuDNN 9, and Node.js
# copied from the official Node.js image. Copy it into your project as Dockerfile.
#   docker build -t my-worker .
#   docker build --build-arg NODE_VERSION=22 \
#     --build-arg BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 -t my-worker .
ARG NODE_VERSION=22
ARG NODE_IMAGE=node:${NODE_VERSION}-bookworm-slim
ARG BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM ${NODE_IMAGE} AS node

FROM ${BASE_IMAGE}
# Node.js and npm from the official image (its binaries need only glibc and libstdc++).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version

# A non-root user for the worker (the CUDA images have none of their own).
RUN groupadd --gid 10001 cozy \
 && useradd --uid 10001 --gid cozy --home-dir /home/cozy --create-home --shell /usr/sbin/nologin cozy

ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH \
    ONNXRUNTIME_NODE_INSTALL=cuda12
WORKDIR /app

# Dependencies first: this layer is rebuilt only when package.json or the lockfile change.
# ONNXRUNTIME_NODE_INSTALL=cuda12 makes onnxruntime-node fetch its CUDA 12 provider here.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Then the project itself.
COPY . .

# Bake the manifest: the platform reads /app/.cozy/manifest.json from the image.
RUN mkdir -p /app/.cozy && cozy-worker discover > /app/.cozy/manifest.json

# The files stay owned by root (read-only to the worker); runs write under /tmp.
ENV HOME=/home/cozy \
    XDG_CACHE_HOME=/home/cozy/.cache
USER cozy:cozy

ENTRYPOINT ["/app/node_modules/.bin/cozy-worker", "serve"]
