#!/usr/bin/env bash
# A new user's first hour, checked end to end: gen-worker from a clone of this repository,
# installed as README.md's "Install" section says (keep the commands below and that section the
# same), then a project made by `cozy-worker init` in an empty folder outside the checkout:
# npm install, npm test, npm run typecheck, the dev runner and invoke, a git clone of the project
# installed elsewhere, and an image build. No step takes gen-worker from the npm registry.
#
# Needs git, npm, the docker CLI and an engine in DOCKER_HOST holding local/node-base:<node
# version> (eval "$(sh scripts/docker-up.sh)"; .ci/run runs this after the tests). Everything it
# makes goes under one temp folder (the clone, the global npm prefix, the project) and is removed
# on exit, with the runner it starts and the images it builds.
#   DAY_ONE_WORKTREE=1  start from this checkout's working tree (uncommitted files included, ignored
#                       ones not) instead of a clone of its HEAD: to try changes before committing
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE_IMAGE="local/node-base:$(node -p process.versions.node)"
TAG="cozy-day-one-$$:dev"
started=$SECONDS
step() { printf '\n==> [%ss] %s\n' "$((SECONDS - started))" "$*"; }
fail() {
  echo "day-one: FAILED: $*" >&2
  exit 1
}

[ -n "${DOCKER_HOST:-}" ] || fail "DOCKER_HOST is not set: start an engine with: eval \"\$(sh scripts/docker-up.sh)\""
docker image inspect "$BASE_IMAGE" >/dev/null ||
  fail "no $BASE_IMAGE on $DOCKER_HOST: scripts/docker-up.sh makes it"
node -e 'const [major, minor] = process.argv[1].split(".").map(Number); process.exit(major > 11 || (major === 11 && minor >= 16) ? 0 : 1)' "$(npm --version)" ||
  fail "npm $(npm --version) ignores package.json allowScripts, which these steps rely on: use npm 11.16 or newer"

# A new user's shell: no npm_* variables from a calling npm script, and not CI's install setting,
# so the project's package.json allowScripts alone must keep onnxruntime-node's CUDA download away.
while IFS= read -r name; do unset "$name"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')
unset ONNXRUNTIME_NODE_INSTALL

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cozy-day-one.XXXXXX")"
WORK="$(cd "$WORK" && pwd -P)"
runner_pid=""
cleanup() {
  local status=$?
  if [ -n "$runner_pid" ] && kill -0 "$runner_pid" 2>/dev/null; then
    kill "$runner_pid"
    wait "$runner_pid" 2>/dev/null || true
  fi
  docker image rm -f "$TAG" >/dev/null 2>&1 || true
  # the dependency image the build staged, labelled with the project's folder
  local deps
  deps="$(docker image ls -q --filter "label=cozy.gen-worker.deps-for=$WORK/projects/my-worker" 2>/dev/null || true)"
  [ -z "$deps" ] || docker image rm -f $deps >/dev/null 2>&1 || true
  rm -rf "$WORK"
  if [ "$status" = 0 ]; then echo "day-one: ok in $((SECONDS - started))s"; else echo "day-one: failed after $((SECONDS - started))s" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# `npm install -g` lands in this prefix, whose bin/ is on PATH as a global prefix's is.
export npm_config_prefix="$WORK/npm-global"
export PATH="$npm_config_prefix/bin:$PATH"

if [ "${DAY_ONE_WORKTREE:-0}" = 1 ]; then
  step "copy the working tree of $ROOT"
  mkdir "$WORK/gen-worker"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do if [ -e "$file" ]; then printf '%s\0' "$file"; fi; done |
    tar --null -T - -cf -) | tar -C "$WORK/gen-worker" -xf -
else
  step "git clone $ROOT"
  git clone --quiet "$ROOT" "$WORK/gen-worker"
fi
cd "$WORK/gen-worker"

step "install cozy-worker as README.md's Install section says"
# README.md, "Install": keep these three lines the same as there.
npm ci && npm pack
npm install -g --ignore-scripts ./gen-worker-*.tgz
cozy-worker --version

step "cozy-worker from another folder"
cd "$WORK"
[ "$(command -v cozy-worker)" = "$npm_config_prefix/bin/cozy-worker" ] || fail "cozy-worker on PATH is $(command -v cozy-worker)"
version="$(cozy-worker --version)"
[ "$version" = "$(node -p "require('$WORK/gen-worker/package.json').version")" ] || fail "cozy-worker --version said $version"

step "cozy-worker init my-worker (in an empty folder outside the checkout)"
mkdir "$WORK/projects" && cd "$WORK/projects"
cozy-worker init my-worker 2>&1 | tee "$WORK/init.log"
grep -q "^  npm install " "$WORK/init.log" || fail "init's next steps do not say npm install"
cd my-worker
[ -f "vendor/gen-worker-$version.tgz" ] || fail "no vendor/gen-worker-$version.tgz"

step "npm install"
npm install
if grep -rnF -e "$WORK" -e "cozy-init-" --exclude-dir=node_modules --exclude-dir=vendor .; then
  fail "the project names an absolute or temporary path (above): it would not install elsewhere"
fi
[ ! -e node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so ] ||
  fail "npm install ran onnxruntime-node's CUDA download: package.json allowScripts did not stop it"

step "npm test"
npm test

step "npm run typecheck"
npm run typecheck

step "npm run discover"
npm run discover >/dev/null

step "cozy-worker run --local, then invoke"
port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
./node_modules/.bin/cozy-worker run --local . --listen "127.0.0.1:$port" --outputs "$WORK/outputs" >"$WORK/runner.log" 2>&1 &
runner_pid=$!
for _ in $(seq 300); do
  grep -q "dev runner on http" "$WORK/runner.log" && break
  kill -0 "$runner_pid" 2>/dev/null || { cat "$WORK/runner.log"; fail "the dev runner exited"; }
  sleep 0.1
done
grep -q "dev runner on http" "$WORK/runner.log" || { cat "$WORK/runner.log"; fail "the dev runner did not start in 30 s"; }
url="http://127.0.0.1:$port"
npx cozy-worker invoke greet name=world --url "$url" | tee "$WORK/greet.json"
grep -q '"Hello, world!"' "$WORK/greet.json" || fail "greet did not answer Hello, world!"
npx cozy-worker invoke echo text="one two three" --url "$url" | tee "$WORK/echo.jsonl"
[ "$(grep -c '"delta"' "$WORK/echo.jsonl")" = 3 ] || fail "echo did not stream three deltas"
kill -TERM "$runner_pid"
wait "$runner_pid" || fail "the dev runner exited with $? on SIGTERM"
runner_pid=""
cat "$WORK/runner.log"

step "the project from git, installed in another folder"
git -c init.defaultBranch=main init --quiet && git add --all
git -c user.name=day-one -c user.email=day-one@localhost commit --quiet -m "my-worker"
git clone --quiet "$WORK/projects/my-worker" "$WORK/elsewhere/my-worker"
(cd "$WORK/elsewhere/my-worker" && npm ci && npx cozy-worker discover . >/dev/null)

step "cozy-worker build -t $TAG --base-image $BASE_IMAGE"
npx cozy-worker build -t "$TAG" --base-image "$BASE_IMAGE"
docker image inspect "$TAG" >/dev/null
