// A caching device allocator in the spirit of PyTorch's: freed blocks go back to size-class free
// lists and are reused by later allocations on the same stream. Every kernel of a device runs on
// its one stream, in order, so a block freed after the kernels that use it were queued can be
// handed to the next allocation at once: whatever writes it next is queued behind them.
#pragma once

#include <cstddef>
#include <map>
#include <unordered_map>

namespace kc {

class Allocator {
 public:
  explicit Allocator(int device) : device_(device) {}
  ~Allocator();
  // Device memory of at least `bytes` bytes (rounded up to the size class).
  void* alloc(size_t bytes);
  void free(void* p);
  // Returns every cached block to the driver (after the device has finished with them).
  void empty_cache();

  // The size of the live block that starts at p, or 0 when p is not one (freed, never handed
  // out, or another device's): what the N-API boundary checks every pointer from JavaScript against.
  size_t block_size(const void* p) const {
    auto it = live_.find(const_cast<void*>(p));
    return it == live_.end() ? 0 : it->second;
  }
  size_t live_blocks() const { return live_.size(); }
  size_t live_bytes() const { return live_bytes_; }
  size_t cached_bytes() const { return cached_bytes_; }

  // Size classes: 512-byte multiples below 1 MiB, 128 KiB multiples below 64 MiB, 2 MiB above.
  static size_t round_size(size_t bytes);

 private:
  int device_;
  std::multimap<size_t, void*> cache_;      // rounded size → free block
  std::unordered_map<void*, size_t> live_;  // block → rounded size
  size_t live_bytes_ = 0;
  size_t cached_bytes_ = 0;
};

}  // namespace kc
