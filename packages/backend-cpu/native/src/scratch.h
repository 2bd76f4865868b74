// Per-thread scratch memory that persists across kernel calls. Kernels used to allocate their
// col / padded / partial-sum buffers per call; glibc then trims and re-faults those pages on every
// call (a training step alternates many shapes), which cost more than some of the kernels. Each
// thread keeps a few grow-only buffers instead; contents are uninitialised (callers write first).
#pragma once
#include <cstddef>
#include <vector>

namespace kd {

// A buffer of at least n floats for `slot` (0..3) on the calling thread; valid until the same
// thread asks for the same slot again.
inline float* scratch(int slot, size_t n) {
  thread_local std::vector<float> bufs[4];
  std::vector<float>& b = bufs[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace kd
