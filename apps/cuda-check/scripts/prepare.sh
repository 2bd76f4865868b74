#!/usr/bin/env bash
# Prepares the carried folder .device/ (git-ignored through .git/info/exclude) for a GPU host
# without Node or network: the CUDA addon built here (sm_75…sm_90), the bundled check, an
# xz-compressed Node binary and the golden files. Then run, on the GPU host, from the repo root:
#   bash apps/cuda-check/scripts/run-on-gpu.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
out=.device
mkdir -p "$out"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
# Builds the addon the way it is published: in @kindling/backend-cuda-linux-x64-gnu's build.
KINDLING_REQUIRE_CUDA=1 npx -y pnpm@12.4.2 --filter @kindling/cuda-check... build >/dev/null
node apps/cuda-check/scripts/bundle.mjs
cp packages/backend-cuda-linux-x64-gnu/kindling_cuda.node apps/cuda-check/dist-bundle/check.mjs "$out/"
rm -rf "$out/golden" && cp -r ../shared/golden "$out/golden"
[ -f "$out/node.xz" ] || xz -T2 -6 -c "$(command -v node)" > "$out/node.xz"
du -sh "$out"
