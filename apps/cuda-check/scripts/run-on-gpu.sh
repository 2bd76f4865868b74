#!/usr/bin/env bash
# The device check, run on a GPU host from the repo root after scripts/prepare.sh made .device/:
# conformance on cuda (fused and reference), cuda against cpu, the error paths, a LeNet training
# check, and LeNet / AlexNet training timed against PyTorch CUDA on the same GPU: with the addon's
# own kernels only, with cuBLAS, and with cuBLAS + cuDNN (both loaded at run time), with TF32
# convolutions (allowTF32, the default as in PyTorch) and in full FP32, cuDNN's algorithms timed on
# first use (cudnnBenchmark, the default) or taken from its heuristics. The correctness checks set
# their own precision: conformance and cuda-vs-cpu in FP32, --tf32 and --precision both.
# Each part is its own process, so a device fault in one still lets the others report. Logs and
# JSON go to $OUT (or the git-ignored runs/cuda-check/<date>).
set -u
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
D=.device
OUT="${OUT:-runs/cuda-check/$(date -u +%Y-%m-%d-%H%M%S)}"
mkdir -p "$OUT" /tmp/kd
xz -dc "$D/node.xz" > /tmp/kd/node && chmod +x /tmp/kd/node
export KINDLING_CUDA_ADDON="$PWD/$D/kindling_cuda.node"
NODE=/tmp/kd/node
CHECK="timeout 300 $NODE $D/check.mjs"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
# The vendor libraries, loaded at run time: PyTorch's nvidia-* wheels first, else the system's.
# The wheels keep them in nvidia/<name>/lib (nvidia/cublas, nvidia/cudnn) or, in newer CUDA 13
# wheels, nvidia/cu13/lib: search every folder of the nvidia namespace package.
wheel_lib() { python3 -c "import nvidia, glob, os; print((sorted(f for d in nvidia.__path__ for f in glob.glob(os.path.join(d, '*', 'lib', '$1'))) or [''])[0])" 2>/dev/null; }
CUBLAS="$(wheel_lib 'libcublas.so.*[0-9]')"
[ -n "$CUBLAS" ] || CUBLAS="$(ldconfig -p 2>/dev/null | awk '/libcublas\.so\./ {print $NF; exit}')"
CUDNN="$(wheel_lib 'libcudnn.so.[89]')"
[ -n "$CUDNN" ] || CUDNN="$(python3 -c 'import torch, glob, os; print((glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libcudnn.so.[89]")) or [""])[0])' 2>/dev/null)"
[ -n "$CUDNN" ] || CUDNN="$(ldconfig -p 2>/dev/null | awk '/libcudnn\.so\.[89]/ {print $NF; exit}')"
NCCL="$(wheel_lib 'libnccl.so.2')"
[ -n "$NCCL" ] || NCCL="$(ldconfig -p 2>/dev/null | awk '/libnccl\.so\.2/ {print $NF; exit}')"
echo "libcublas: ${CUBLAS:-none found}; libcudnn: ${CUDNN:-none found}; libnccl: ${NCCL:-none found}"
# The distributed check (src/distributed-check.ts, under a minute, estimated): NCCL with world size 1 on cuda
# tensors, Gloo with cuda tensors across 2 ranks, a DDP LeNet step on 2 ranks against one process.
# DIST=1 runs it after the check below, DIST_ONLY=1 alone. Its Gloo addon travels in
# .device/node_modules (scripts/pack-distributed.mjs); NCCL is PyTorch's nvidia-nccl wheel's.
distributed() {
  echo "== distributed: NCCL world size 1, Gloo with cuda tensors on 2 ranks, DDP LeNet on 2 ranks"
  KINDLING_CUDA_CUBLAS=0 KINDLING_CUDA_CUDNN=0 KINDLING_NCCL_LIBRARY="$NCCL" timeout 300 $NODE $D/distributed-check.mjs --device cuda --json "$OUT/distributed.json" 2>&1 | tail -30
}
if [ "${DIST_ONLY:-0}" = 1 ]; then distributed; exit; fi
# The check itself (about 2–3 minutes): conformance, cuda vs cpu, error paths, the LeNet training
# check and the timings against PyTorch, with the addon's own kernels and with the libraries.
# EXPERIMENTS=1 adds the libraries' experiments (cuDNN's heuristic choices against timed ones, every
# size through the libraries, per-layer convolutions, per-op profiles, ~1 minute); EXPERIMENTS=2 also
# the own kernels' (3xTF32 tensor-core products, im2col LeNet, per-layer convolutions, cuBLAS only,
# ~2 minutes).
EXPERIMENTS="${EXPERIMENTS:-0}"
libraries() {  # on: both libraries as found above; off: the addon's own kernels only
  if [ "$1" = on ]; then export KINDLING_CUDA_CUBLAS=1 KINDLING_CUBLAS_LIBRARY="$CUBLAS" KINDLING_CUDA_CUDNN=1 KINDLING_CUDNN_LIBRARY="$CUDNN"
  else export KINDLING_CUDA_CUBLAS=0 KINDLING_CUDA_CUDNN=0; fi
}
# timings TAG MODELS: MODELS timed with TF32 convolutions (the default) into kindling-TAG.json, then in
# full FP32 into kindling-TAG-fp32.json; variables set before the call apply to both.
timings() {
  $CHECK --bench "$2" --json "$OUT/kindling-$1.json" 2>&1 | grep bench
  KINDLING_CUDA_ALLOW_TF32=0 $CHECK --bench "$2" --json "$OUT/kindling-$1-fp32.json" 2>&1 | grep bench
}
libraries off
echo "== own kernels: conformance (fused, then reference decompositions), cuda vs cpu (FP32, then TF32), errors, LeNet training check, timings (TF32, then FP32)"
$CHECK --golden $D/golden --json "$OUT/conformance-fused.json" 2>&1 | tail -20
KINDLING_CUDA_FUSED=0 $CHECK --golden $D/golden --json "$OUT/conformance-reference.json" 2>&1 | tail -12
$CHECK --versus --json "$OUT/versus.json" 2>&1 | grep -E "FAIL|versus cpu:"
$CHECK --tf32 --json "$OUT/tf32-own.json" 2>&1 | grep -E "FAIL|tf32 versus cpu:"
$CHECK --errors --json "$OUT/errors.json" 2>&1 | grep -E "FAIL|errors:"
$CHECK --train-check --json "$OUT/train-check.json" 2>&1 | tail -2
timings own lenet,alexnet
if [ -n "$CUBLAS$CUDNN" ]; then
  libraries on
  echo "== cuBLAS + cuDNN: conformance with every product and convolution sent to them, cuda vs cpu (cuDNN's choices logged), timings (TF32 convolutions, then FP32)"
  KINDLING_CUDA_LIBRARY_MIN_FLOPS=0 $CHECK --golden $D/golden --json "$OUT/conformance-libraries.json" 2>&1 | grep -E "FAIL|conformance|matmul|conv:"
  KINDLING_CUDA_CUDNN_LOG=1 $CHECK --versus --json "$OUT/versus-libraries.json" 2>&1 | grep -E "FAIL|versus cpu:|^cudnn:"
  KINDLING_CUDA_CUDNN_BENCHMARK=0 KINDLING_CUDA_CUDNN_LOG=1 $CHECK --versus --json "$OUT/versus-libraries-heuristics.json" 2>&1 | grep -E "FAIL|versus cpu:|^cudnn:"
  KINDLING_CUDA_CUDNN_LOG=1 $CHECK --precision --json "$OUT/precision.json" 2>&1 | grep -E "precision|^cudnn:"
  timings libraries lenet,alexnet
fi
if [ "$EXPERIMENTS" -ge 1 ] && [ -n "$CUBLAS$CUDNN" ]; then
  libraries on
  echo "== experiments: cuDNN's algorithms from its heuristics (cudnnBenchmark off, PyTorch's default), TF32 and FP32"
  KINDLING_CUDA_CUDNN_BENCHMARK=0 timings libraries-heuristics alexnet
  # LeNet's products and convolutions are below the 2^27-FLOP line; this shows whether the libraries win there too.
  KINDLING_CUDA_LIBRARY_MIN_FLOPS=0 $CHECK --bench lenet --json "$OUT/kindling-libraries-all.json" 2>&1 | grep bench
  echo "== experiments: AlexNet's convolutions one by one through the libraries (TF32, then FP32); per-op profile"
  $CHECK --micro --json "$OUT/micro-libraries.json" 2>&1 | grep conv
  KINDLING_CUDA_ALLOW_TF32=0 $CHECK --micro 2>&1 | grep conv
  KINDLING_CUDA_PROFILE=1 $CHECK --bench alexnet 2>&1 | grep -v "^cuda:\|^CUDA on" | head -18
fi
if [ "$EXPERIMENTS" -ge 2 ]; then
  libraries off
  echo "== experiments: own kernels, FP32 products as 3xTF32 on tensor cores (KINDLING_CUDA_FP32_TENSOR_CORES=1)"
  KINDLING_CUDA_FP32_TENSOR_CORES=1 $CHECK --versus --json "$OUT/versus-3xtf32.json" 2>&1 | grep -E "FAIL|versus cpu:"
  KINDLING_CUDA_FP32_TENSOR_CORES=1 KINDLING_CUDA_ALLOW_TF32=0 $CHECK --bench lenet,alexnet --json "$OUT/kindling-own-3xtf32-fp32.json" 2>&1 | grep bench
  echo "== experiments: LeNet with im2col convolutions instead of the direct ones (conv_direct.cu)"
  KINDLING_CUDA_DIRECT_CONV=0 $CHECK --bench lenet --json "$OUT/kindling-own-im2col.json" 2>&1 | grep bench
  echo "== experiments: AlexNet's convolutions one by one (own TF32, own SIMT FP32, own 3xTF32)"
  $CHECK --micro --json "$OUT/micro-own.json" 2>&1 | grep conv
  KINDLING_CUDA_ALLOW_TF32=0 $CHECK --micro 2>&1 | grep conv
  KINDLING_CUDA_ALLOW_TF32=0 KINDLING_CUDA_FP32_TENSOR_CORES=1 $CHECK --micro 2>&1 | grep conv
  if [ -n "$CUBLAS" ]; then
    echo "== experiments: cuBLAS only"
    KINDLING_CUDA_CUBLAS=1 KINDLING_CUBLAS_LIBRARY="$CUBLAS" timings cublas lenet,alexnet
  fi
fi
PYTHONUNBUFFERED=1 timeout 300 python3 apps/cuda-check/python/torch_cuda_bench.py --json "$OUT/torch-bench.json" 2>&1 | tail -8
$NODE $D/check.mjs --table own="$OUT/kindling-own.json" own+fp32="$OUT/kindling-own-fp32.json" own+3xtf32+fp32="$OUT/kindling-own-3xtf32-fp32.json" \
  own-im2col="$OUT/kindling-own-im2col.json" cublas="$OUT/kindling-cublas.json" cublas+fp32="$OUT/kindling-cublas-fp32.json" \
  cublas+cudnn="$OUT/kindling-libraries.json" cublas+cudnn+fp32="$OUT/kindling-libraries-fp32.json" \
  cublas+cudnn-heuristics="$OUT/kindling-libraries-heuristics.json" cublas+cudnn-heuristics+fp32="$OUT/kindling-libraries-heuristics-fp32.json" \
  libraries-at-every-size="$OUT/kindling-libraries-all.json" "$OUT/torch-bench.json" 2>&1
if [ "${DIST:-0}" = 1 ]; then distributed; fi
