#!/usr/bin/env bash
# Prepares the carried folder .device/ (git-ignored by the root .gitignore) for a GPU host
# without Node or network: the CUDA addon built here (sm_75…sm_90), the bundled checks, the
# distributed check's Gloo addon (scripts/pack-distributed.mjs), an xz-compressed Node binary and
# the golden files. Then run, on the GPU host, from the repo root:
#   bash apps/cuda-check/scripts/run-on-gpu.sh
# DIST_ONLY=1 builds and packs only the distributed part (the Gloo addon, a few seconds after its
# first build) and keeps the CUDA addon already in .device/ (the distributed check needs it too).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
out=.device
mkdir -p "$out"
if [ "${DIST_ONLY:-0}" = 1 ]; then
  KINDLING_REQUIRE_NATIVE=1 npx -y pnpm@12.4.2 --filter @kindling/distributed-linux-x64-gnu build >/dev/null
  [ -f "$out/kindling_cuda.node" ] || echo "prepare: $out/kindling_cuda.node is missing: run prepare.sh without DIST_ONLY once (the distributed check on cuda needs it)" >&2
else
  # Builds the addons the way they are published: in @kindling/backend-cuda-linux-x64-gnu's build
  # (and @kindling/distributed-linux-x64-gnu's, a dependency of the check).
  KINDLING_REQUIRE_CUDA=1 KINDLING_REQUIRE_NATIVE=1 npx -y pnpm@12.4.2 --filter @kindling/cuda-check... build >/dev/null
  node apps/cuda-check/scripts/bundle.mjs
  cp packages/backend-cuda-linux-x64-gnu/kindling_cuda.node apps/cuda-check/dist-bundle/check.mjs "$out/"
  rm -rf "$out/golden" && cp -r ../shared/golden "$out/golden"
fi
node apps/cuda-check/scripts/pack-distributed.mjs "$out"
[ -f "$out/node.xz" ] || xz -T2 -6 -c "$(command -v node)" > "$out/node.xz"
du -sh "$out"
