#include "context.h"

#include <cstdlib>
#include <cstring>

#include "cudnn_conv.h"
#include "kindling_flags.h"
#include "gemm.h"

namespace kc {

void check_cuda(cudaError_t e, const char* op) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next op starts clean
  throw Error(std::string("cuda ") + op + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

const char* device_error_message(int code) {
  switch (code) {
    case DEV_GATHER_INDEX: return "gather: an index is out of bounds for the gathered dimension";
    case DEV_SCATTER_INDEX: return "scatterAdd: an index is out of bounds for the scattered dimension";
    case DEV_MAXPOOL_INDEX: return "maxPool2dBackward: an index is outside the input plane";
    default: return "a kernel reported an unknown device-side error";
  }
}

double vendor_library_min_flops() {
  static const double v = static_cast<double>(kindling::flag_int("KINDLING_CUDA_LIBRARY_MIN_FLOPS", 1LL << 27));
  return v;
}

static thread_local int current_device = -1;

Context::Context(int device) : device_(device) {
  check_cuda(cudaSetDevice(device), "init");
  current_device = device;
  check_cuda(cudaGetDeviceProperties(&props_, device), "init");
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "init");
  check_cuda(cudaHostAlloc(reinterpret_cast<void**>(&host_err_), sizeof(int), cudaHostAllocMapped), "init");
  *host_err_ = 0;
  check_cuda(cudaHostGetDevicePointer(reinterpret_cast<void**>(&dev_err_), host_err_, 0), "init");
  alloc_ = std::make_unique<Allocator>(device);
  sync_each_op_ = kindling::flag_bool("KINDLING_CUDA_SYNC", false) || kindling::flag_bool("CUDA_LAUNCH_BLOCKING", false);
  cublas_ = gemm_cublas_create(stream_);
}

Context::~Context() {
  activate();
  cudaStreamSynchronize(stream_);
  gemm_cublas_destroy(cublas_);
  cudnn_state_destroy(cudnn_);
  alloc_.reset();
  for (auto& s : staging_) {
    cudaEventDestroy(s.done);
    cudaFreeHost(s.host);
  }
  cudaFreeHost(host_err_);
  cudaStreamDestroy(stream_);
}

void Context::activate() const {
  if (current_device != device_) {
    check_cuda(cudaSetDevice(device_), "setDevice");
    current_device = device_;
  }
}

void Context::after_launch(const char* op) {
  check_cuda(cudaGetLastError(), op);
  if (sync_each_op_) {
    check_cuda(cudaStreamSynchronize(stream_), op);
    const int code = take_device_error();
    if (code) throw Error(device_error_message(code), true);
  }
}

int Context::acquire_staging(size_t bytes) {
  for (size_t i = 0; i < staging_.size(); i++) {
    Staging& s = staging_[i];
    if (s.held || s.bytes < bytes) continue;
    if (cudaEventQuery(s.done) == cudaSuccess) return static_cast<int>(i);
    cudaGetLastError();  // cudaErrorNotReady is not an error
  }
  size_t size = 64 << 10;
  while (size < bytes) size <<= 1;
  Staging s;
  s.bytes = size;
  check_cuda(cudaHostAlloc(&s.host, size, cudaHostAllocDefault), "pinned staging");
  check_cuda(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming), "pinned staging");
  staging_.push_back(s);
  return static_cast<int>(staging_.size() - 1);
}

void Context::upload(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  activate();
  const int i = acquire_staging(bytes);
  Staging& s = staging_[i];
  std::memcpy(s.host, src, bytes);
  check_cuda(cudaMemcpyAsync(dst, s.host, bytes, cudaMemcpyHostToDevice, stream_), "write");
  check_cuda(cudaEventRecord(s.done, stream_), "write");
}

int Context::download(const void* src, size_t bytes) {
  activate();
  const int i = acquire_staging(bytes);
  Staging& s = staging_[i];
  if (bytes > 0) check_cuda(cudaMemcpyAsync(s.host, src, bytes, cudaMemcpyDeviceToHost, stream_), "read");
  check_cuda(cudaEventRecord(s.done, stream_), "read");
  s.held = true;
  return i;
}

cudaEvent_t Context::record() {
  activate();
  cudaEvent_t e;
  check_cuda(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "sync");
  check_cuda(cudaEventRecord(e, stream_), "sync");
  return e;
}

int Context::take_device_error() {
  volatile int* w = host_err_;
  const int code = *w;
  if (code) *w = 0;
  return code;
}

}  // namespace kc
