# The image Cozy runs: gen-worker's production worker serving this project's handlers, on the
# official Node.js slim image. Build it with cozy-worker build, which checks the project, stages
# gen-worker and the production dependencies from this machine's node_modules into an image
# passed as GEN_WORKER_DEPS, and bundles the handlers, so the build itself downloads nothing:
#   cozy-worker build -t my-worker:dev
#   cozy-worker build -t my-worker:dev --base-image node:22-bookworm-slim
# For a GPU image see gen-worker's templates/dockerfiles/gpu.Dockerfile (cozy-worker build --gpu).
ARG NODE_VERSION=22
ARG BASE_IMAGE=node:${NODE_VERSION}-bookworm-slim
ARG GEN_WORKER_DEPS
FROM ${GEN_WORKER_DEPS} AS deps

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH
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
# "node" (uid 1000) comes with the official Node.js images.
USER node

ENTRYPOINT ["cozy-worker", "serve"]
