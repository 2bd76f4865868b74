#include "allocator.h"

#include <cuda_runtime.h>

#include "common.h"

namespace kc {

size_t Allocator::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t kSmall = 512, kMid = 128 << 10, kLarge = 2 << 20;
  if (bytes < (1 << 20)) return (bytes + kSmall - 1) / kSmall * kSmall;
  if (bytes < (64 << 20)) return (bytes + kMid - 1) / kMid * kMid;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

void* Allocator::alloc(size_t bytes) {
  const size_t size = round_size(bytes);
  // Best fit among cached blocks, accepting at most 25% waste (else a fresh block is cheaper than
  // pinning a large one under a small tensor).
  auto it = cache_.lower_bound(size);
  if (it != cache_.end() && it->first <= size + size / 4) {
    void* p = it->second;
    const size_t got = it->first;
    cache_.erase(it);
    cached_bytes_ -= got;
    live_[p] = got;
    live_bytes_ += got;
    return p;
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) {
    // Out of memory: give the cache back to the driver and try once more, as PyTorch does.
    cudaGetLastError();
    empty_cache();
    e = cudaMalloc(&p, size);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    throw Error("alloc: cannot allocate " + std::to_string(size) + " bytes on cuda:" + std::to_string(device_) + " (" +
                cudaGetErrorName(e) + "; " + std::to_string(free_b >> 20) + " MiB free of " + std::to_string(total_b >> 20) +
                " MiB, " + std::to_string(live_bytes_ >> 20) + " MiB held by live tensors)");
  }
  live_[p] = size;
  live_bytes_ += size;
  return p;
}

void Allocator::free(void* p) {
  auto it = live_.find(p);
  if (it == live_.end()) throw Error("free: pointer is not a live block of cuda:" + std::to_string(device_));
  const size_t size = it->second;
  live_.erase(it);
  live_bytes_ -= size;
  cache_.emplace(size, p);
  cached_bytes_ += size;
}

void Allocator::empty_cache() {
  if (cache_.empty()) return;
  // Cached blocks may still be read by queued kernels: wait for the device first.
  cudaDeviceSynchronize();
  for (auto& kv : cache_) cudaFree(kv.second);
  cache_.clear();
  cached_bytes_ = 0;
}

Allocator::~Allocator() {
  for (auto& kv : cache_) cudaFree(kv.second);
  for (auto& kv : live_) cudaFree(kv.first);
}

}  // namespace kc
