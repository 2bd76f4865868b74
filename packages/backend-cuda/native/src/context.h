// One Context per CUDA device ('cuda:N'): its stream, caching allocator, pinned staging buffers
// for uploads and readbacks, and a device-side error word that kernels set when they meet a bad
// index (a GPU cannot throw; the error is reported by the next read or sync).
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

#include "allocator.h"
#include "common.h"

namespace kc {

class CudnnState;

// The smallest product, in FLOPs, handed to cuBLAS or cuDNN: below it our kernels, which have no
// per-call setup, are as fast (measured on an H200: LeNet's products run faster in ours). 2^27 by
// default; KINDLING_CUDA_LIBRARY_MIN_FLOPS overrides it (0 sends every product to the libraries,
// which is how the device check runs conformance through them).
double vendor_library_min_flops();

struct Staging {
  void* host = nullptr;
  size_t bytes = 0;
  cudaEvent_t done = nullptr;  // recorded after the copy that uses the block
  bool held = false;           // a pending readback still owns it
};

class Context {
 public:
  explicit Context(int device);
  ~Context();

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  Allocator& allocator() { return *alloc_; }
  int* device_error_word() const { return dev_err_; }
  const cudaDeviceProp& props() const { return props_; }
  bool has_cublas() const { return cublas_ != nullptr; }
  void* cublas() const { return cublas_; }
  // The context's cuDNN handle and plans (cudnn_conv.h), made on first use.
  CudnnState*& cudnn() { return cudnn_; }
  const CudnnState* cudnn() const { return cudnn_; }

  // Makes this device current for the calling thread (cheap when it already is).
  void activate() const;

  // Raises any launch error of the op just queued; with KINDLING_CUDA_SYNC=1 also waits for the op
  // so that an asynchronous fault names the op that caused it.
  void after_launch(const char* op);

  // Queues an upload of `bytes` from host memory (copied into pinned staging first, so the call
  // never waits for the device).
  void upload(void* dst, const void* src, size_t bytes);
  // Queues a download into a pinned staging block; returns the block index, whose `done` event
  // completes when the data is there. The block stays held until release_staging().
  int download(const void* src, size_t bytes);
  Staging& staging(int i) { return staging_[i]; }
  void release_staging(int i) { staging_[i].held = false; }
  // Records an event on the stream (for sync()); the caller destroys it.
  cudaEvent_t record();
  // Reads and clears the device-side error word; call after the stream has reached a point.
  int take_device_error();

  std::string name() const { return props_.name; }

 private:
  int acquire_staging(size_t bytes);

  int device_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Allocator> alloc_;
  std::vector<Staging> staging_;
  int* host_err_ = nullptr;  // pinned, mapped
  int* dev_err_ = nullptr;
  cudaDeviceProp props_{};
  void* cublas_ = nullptr;
  CudnnState* cudnn_ = nullptr;
  bool sync_each_op_ = false;
};

// A device temporary freed (back to the cache) when the op's host code returns.
class Temp {
 public:
  Temp(Context& c, size_t bytes) : c_(c), p_(c.allocator().alloc(bytes)) {}
  ~Temp() { c_.allocator().free(p_); }
  Temp(const Temp&) = delete;
  Temp& operator=(const Temp&) = delete;
  template <typename T>
  T* as() const { return static_cast<T*>(p_); }

 private:
  Context& c_;
  void* p_;
};

// Human-readable names of the device-side error codes.
const char* device_error_message(int code);

}  // namespace kc
