#!/usr/bin/env bash
# The device check, run on a GPU host from the repo root after scripts/prepare.sh made .device/:
# conformance on cuda (fused and reference), cuda against cpu, a LeNet training check, and LeNet /
# AlexNet training timed against PyTorch CUDA on the same GPU, for the addon's own GEMM kernels and
# for cuBLAS (loaded at run time) with and without TF32 convolutions. Each part is its own process,
# so a device fault in one still lets the others report. Logs and JSON go to $OUT (or .device/out).
set -u
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
D=.device
OUT="${OUT:-$D/out}"
mkdir -p "$OUT" /tmp/kd
xz -dc "$D/node.xz" > /tmp/kd/node && chmod +x /tmp/kd/node
export KINDLING_CUDA_ADDON="$PWD/$D/kindling_cuda.node"
NODE=/tmp/kd/node
CHECK="timeout 300 $NODE $D/check.mjs"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
# A libcublas for the cuBLAS runs: PyTorch's nvidia-cublas wheel, else the system's.
CUBLAS="$(python3 -c 'import nvidia.cublas as m, glob, os; print((glob.glob(os.path.join(list(m.__path__)[0], "lib", "libcublas.so.*[0-9]")) or [""])[0])' 2>/dev/null)"
[ -n "$CUBLAS" ] || CUBLAS="$(ldconfig -p 2>/dev/null | awk '/libcublas\.so\./ {print $NF; exit}')"
echo "libcublas: ${CUBLAS:-none found}"
export KINDLING_CUDA_CUBLAS=0
echo "== conformance, own kernels (fused, then reference decompositions)"
$CHECK --golden $D/golden --json "$OUT/conformance-fused.json" 2>&1 | tail -20
KINDLING_CUDA_FUSED=0 $CHECK --golden $D/golden --json "$OUT/conformance-reference.json" 2>&1 | tail -12
echo "== cuda vs cpu, own kernels"
$CHECK --versus --json "$OUT/versus.json" 2>&1 | grep -E "FAIL|versus cpu:"
echo "== LeNet training check"
$CHECK --train-check --json "$OUT/train-check.json" 2>&1 | tail -2
echo "== timings, own kernels"
$CHECK --bench lenet,alexnet --json "$OUT/kindling-own.json" 2>&1 | grep bench
if [ -n "$CUBLAS" ]; then
  export KINDLING_CUDA_CUBLAS=1 KINDLING_CUBLAS_LIBRARY="$CUBLAS"
  echo "== with cuBLAS: conformance, cuda vs cpu, timings (FP32; then TF32 convolutions)"
  $CHECK --golden $D/golden --json "$OUT/conformance-cublas.json" 2>&1 | grep -E "FAIL|conformance|matmul"
  $CHECK --versus --json "$OUT/versus-cublas.json" 2>&1 | grep -E "FAIL|versus cpu:"
  $CHECK --bench lenet,alexnet --json "$OUT/kindling-cublas.json" 2>&1 | grep bench
  KINDLING_CUDA_ALLOW_TF32=1 $CHECK --bench alexnet --json "$OUT/kindling-cublas-tf32.json" 2>&1 | grep bench
  echo "== AlexNet's convolutions one by one (cuBLAS; then own kernels)"
  $CHECK --micro --json "$OUT/micro-cublas.json" 2>&1 | grep conv
fi
KINDLING_CUDA_CUBLAS=0 $CHECK --micro --json "$OUT/micro-own.json" 2>&1 | grep conv
echo "== per-op profile (own kernels)"
KINDLING_CUDA_CUBLAS=0 KINDLING_CUDA_PROFILE=1 $CHECK --bench lenet,alexnet 2>&1 | grep -v "^cuda:\|^CUDA on" | head -36
PYTHONUNBUFFERED=1 timeout 300 python3 apps/cuda-check/python/torch_cuda_bench.py --json "$OUT/torch-bench.json" 2>&1 | tail -4
$NODE $D/check.mjs --table own="$OUT/kindling-own.json" cublas="$OUT/kindling-cublas.json" cublas+tf32conv="$OUT/kindling-cublas-tf32.json" "$OUT/torch-bench.json" 2>&1
