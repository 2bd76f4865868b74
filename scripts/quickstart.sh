#!/usr/bin/env bash
# Quick start on a fresh Debian/Ubuntu machine with Node 20: installs what Kindling needs
# (Debian's dataset-fashion-mnist, the workspace's packages), builds, and trains d2l's LeNet on
# the real Fashion-MNIST with live progress. Extra arguments go to the trainer (e.g. --epochs 2).
set -euo pipefail
cd "$(dirname "$0")/.."
download=()
if [ -z "${KINDLING_DATA_DIR:-}" ] && [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist; }; then
    echo "quickstart: could not install dataset-fashion-mnist; the trainer will download the official files instead"
    download=(--download)
  fi
fi
npx -y pnpm@12.4.2 install --frozen-lockfile
npx -y pnpm@12.4.2 train --model lenet "${download[@]}" "$@"
