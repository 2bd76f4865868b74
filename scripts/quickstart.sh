#!/usr/bin/env bash
# Quick start on a fresh Debian/Ubuntu machine with Node 20: installs what Kindling needs
# (Debian's dataset-fashion-mnist; cmake, g++ and OpenBLAS for the native CPU path; the
# workspace's packages), builds only what the trainer imports, and trains d2l's LeNet on the real
# Fashion-MNIST with live progress. Extra arguments go to the trainer (e.g. --epochs 2).
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
apt_install() { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"; }

download=()
if [ -z "${KINDLING_DATA_DIR:-}" ] && [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if ! apt_install dataset-fashion-mnist; then
    echo "quickstart: could not install dataset-fashion-mnist; the trainer will download the official files instead"
    download=(--download)
  fi
fi
# The native CPU path: the platform package's build compiles the addon with OpenBLAS linked in
# (libopenblas-pthread-dev ships libopenblas.a). Without these the portable TypeScript path runs.
need=()
for p in cmake g++ libopenblas-pthread-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ] && ! apt_install "${need[@]}"; then
  echo "quickstart: could not install ${need[*]}; LeNet will train on the portable TypeScript path"
fi
npx -y pnpm@12.4.2 install --frozen-lockfile
npx -y pnpm@12.4.2 train --model lenet "${download[@]}" "$@"
