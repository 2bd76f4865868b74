// Argument decoding for the cuda addon's kernel entry, Context.run(entry, block, count): the
// calling convention of core's kindling_packed.h, with device memory named inside the block. A view
// is [ptr, dtype, offset, rank, ...shape, ...strides] (ptr 0: an absent optional view); an operand
// is [0, ...view] or [1, scalar]. src/pack.ts writes them.
#pragma once

#include <cstdint>
#include <string>

#include "allocator.h"
#include "common.h"
#include "kernels.h"
#include "kindling_packed.h"

namespace kc {

// Every value is checked as it is read (kindling::PackedReader), and a view must name a live block
// of this context's allocator and stay inside it: the block comes from JavaScript, so a bad one
// must become an error, never reach a kernel.
class Args : public kindling::PackedReader {
 public:
  Args(const Allocator& alloc, const double* d, size_t n) : PackedReader(d, n), alloc_(alloc) {}

  View view() {
    View v;
    const int64_t p = int64();
    if (p == 0) return v;
    v.ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(p));
    const size_t block = alloc_.block_size(v.ptr);
    if (block == 0) throw Error("view: " + std::to_string(p) + " is not a live buffer of this device (freed, or not allocated here)", true);
    v.dtype = integer();
    if (v.dtype != F32 && v.dtype != I32 && v.dtype != BOOL) throw Error("view: unknown dtype code " + std::to_string(v.dtype), true);
    v.offset = int64();
    v.nd = integer();
    if (v.nd < 0 || v.nd > kMaxDims) throw Error("views of rank " + std::to_string(v.nd) + " are not supported on cuda (at most 8)", true);
    for (int k = 0; k < v.nd; k++) v.shape[k] = int64();
    for (int k = 0; k < v.nd; k++) v.strides[k] = int64();
    // Elements [offset + lo, offset + hi] are reached; they must lie in the block.
    int64_t lo, hi;
    try {
      kindling::strided_extent(v.nd, v.shape, v.strides, lo, hi);
    } catch (const kindling::PackedError& e) {
      throw Error(std::string("view: ") + e.what(), true);
    }
    if (hi >= lo) {
      const int64_t first = kindling::checked_add(v.offset, lo), last = kindling::checked_add(v.offset, hi);
      const int64_t elems = static_cast<int64_t>(block / dtype_bytes(v.dtype));
      if (first < 0 || last >= elems) {
        throw Error("view reaches elements [" + std::to_string(first) + ", " + std::to_string(last) + "] of a buffer of " + std::to_string(elems), true);
      }
    }
    return v;
  }

  Operand operand() {
    Operand o;
    if (integer() == 1) {
      o.scalar = true;
      o.value = num();
    } else {
      o.view = view();
    }
    return o;
  }

 private:
  const Allocator& alloc_;
};

}  // namespace kc
