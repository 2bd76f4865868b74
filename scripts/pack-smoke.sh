#!/usr/bin/env bash
# À la carte check: pack @kindling/core, @kindling/autograd and @kindling/backend-cpu as npm
# would publish them, install the tarballs into a scratch project outside the workspace, and
# compute a gradient there. Catches missing files, workspace-only paths and broken exports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kindling-pack-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for p in core autograd backend-cpu; do
  (cd "$root/packages/$p" && npx -y pnpm@12.4.2 pack --pack-destination "$scratch" >/dev/null)
done
cd "$scratch"
echo '{ "name": "scratch", "private": true, "type": "module" }' > package.json
npm install --no-audit --no-fund --offline --silent ./kindling-core-*.tgz ./kindling-autograd-*.tgz ./kindling-backend-cpu-*.tgz
cat > check.mjs <<'JS'
import { tensor, conv2d } from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-cpu';
const x = tensor([[1, 2], [3, 4]], { dtype: 'float32', requiresGrad: true });
const y = x.mul(x).sum();            // d/dx x² = 2x
y.backward();
const g = Array.from(await x.grad.data());
if (JSON.stringify(g) !== JSON.stringify([2, 4, 6, 8])) throw new Error(`wrong gradient ${g}`);
const out = conv2d(x.reshape([1, 1, 2, 2]), tensor([1, 0, 0, 1], { dtype: 'float32', shape: [1, 1, 2, 2] }));
console.log(`pack-smoke: grad ${JSON.stringify(g)}, conv ${await out.item()}`);
JS
node check.mjs
