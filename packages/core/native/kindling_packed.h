// The calling convention of Kindling's native addons: every kernel is one call
//
//   run(entry, block: Float64Array, count, ...arrays)
//
// where `entry` is a code of core's KERNEL_ENTRY_POINTS (the generated kindling_ops.h names them
// OP_*), `block` holds the call's `count` numbers in the order the entry point reads them, and
// `arrays` are the host typed arrays the call touches (the cpu addon's tensor storage; the cuda
// addon passes device pointers inside the block and no arrays). The TypeScript side writes blocks
// with core's PackedArgs (packages/core/src/kit/packed.ts).
//
// Why one packed block: a call with twenty positional arguments costs a napi type check per
// argument and spreads the layout over three files; a block is read in order by one reader that
// checks every value as it is read (the values come from JavaScript, so a bad one must become a
// JavaScript error, never an out-of-bounds access or a pending napi error that aborts Node).
//
// This header is the part both addons share: the reader over the numbers, the checked int64
// arithmetic used for extents, and the error type their bindings turn into TypeError/RangeError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace kindling {

// An argument error: `range` for a value out of its range (RangeError), else a wrong type (TypeError).
struct PackedError : std::runtime_error {
  bool range;
  PackedError(const std::string& message, bool is_range) : std::runtime_error(message), range(is_range) {}
};

// 2^53 - 1: beyond it doubles skip integers, so a larger "integer" is not the one JavaScript meant.
constexpr double kMaxSafeInteger = 9007199254740991.0;

inline bool safe_integer(double d) {
  return d >= -kMaxSafeInteger && d <= kMaxSafeInteger && d == static_cast<double>(static_cast<int64_t>(d));
}

// Overflow-checked int64 arithmetic for extents: a product that wraps would pass a bounds check.
inline int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw PackedError("extent " + std::to_string(a) + " x " + std::to_string(b) + " overflows int64", true);
  return r;
}
inline int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw PackedError("extent " + std::to_string(a) + " + " + std::to_string(b) + " overflows int64", true);
  return r;
}
inline int64_t checked_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) throw PackedError("extent " + std::to_string(a) + " - " + std::to_string(b) + " overflows int64", true);
  return r;
}

// Elements [lo, hi] that a strided view of rank nd reaches, relative to its offset; hi < lo when
// the view is empty (a zero extent). Negative sizes are refused.
inline void strided_extent(int nd, const int64_t* shape, const int64_t* strides, int64_t& lo, int64_t& hi) {
  lo = 0;
  hi = 0;
  for (int d = 0; d < nd; d++) {
    if (shape[d] < 0) throw PackedError("negative size " + std::to_string(shape[d]), true);
    if (shape[d] == 0) {
      hi = -1;
      return;
    }
  }
  for (int d = 0; d < nd; d++) {
    const int64_t span = checked_mul(shape[d] - 1, strides[d]);
    if (span < 0) lo = checked_add(lo, span);
    else hi = checked_add(hi, span);
  }
}

// Sequential reader over a block's numbers; every read is bounds- and type-checked.
class PackedReader {
 public:
  PackedReader(const double* data, size_t count) : d_(data), n_(count) {}

  double num() {
    if (i_ >= n_) throw PackedError("packed arguments too short (" + std::to_string(n_) + " values)", true);
    return d_[i_++];
  }
  int64_t int64() {
    const double d = num();
    if (!safe_integer(d)) throw PackedError("packed argument " + std::to_string(i_ - 1) + " is not a safe integer (" + std::to_string(d) + ")", true);
    return static_cast<int64_t>(d);
  }
  int integer() {
    const int64_t v = int64();
    if (v < INT32_MIN || v > INT32_MAX) throw PackedError("packed argument " + std::to_string(i_ - 1) + " (" + std::to_string(v) + ") is outside int32", true);
    return static_cast<int>(v);
  }
  // A non-negative integer (sizes, counts, ranks): a negative one is refused here, once.
  int64_t size() {
    const int64_t v = int64();
    if (v < 0) throw PackedError("packed argument " + std::to_string(i_ - 1) + " must be >= 0, got " + std::to_string(v), true);
    return v;
  }
  bool flag() { return num() != 0; }
  // Where the next read is: the position an error message names.
  size_t position() const { return i_; }

 private:
  const double* d_;
  size_t n_;
  size_t i_ = 0;
};

// The optimizer steps' hyperparameters, in the order both addons' blocks hold them (PackedArgs'
// sgd() and adam() write them): one definition, so the two addons and the TypeScript side cannot
// disagree on it. Real is the precision a backend computes in (the cpu kernels take double, the
// cuda kernels float).
template <typename Real>
struct SgdHyper {
  Real lr, momentum, dampening, weight_decay;
  bool nesterov, maximize, first_step;
};
template <typename Real>
SgdHyper<Real> read_sgd(PackedReader& r) {
  // A braced list is evaluated left to right: the fields are read in block order.
  return SgdHyper<Real>{static_cast<Real>(r.num()), static_cast<Real>(r.num()), static_cast<Real>(r.num()), static_cast<Real>(r.num()),
                        r.flag(), r.flag(), r.flag()};
}

template <typename Real>
struct AdamHyper {
  Real lr, beta1, beta2, eps, weight_decay;
  bool decoupled, amsgrad, maximize;
  double step;  // raised to a power in the bias corrections: kept in double everywhere
};
template <typename Real>
AdamHyper<Real> read_adam(PackedReader& r) {
  return AdamHyper<Real>{static_cast<Real>(r.num()), static_cast<Real>(r.num()), static_cast<Real>(r.num()), static_cast<Real>(r.num()),
                         static_cast<Real>(r.num()), r.flag(), r.flag(), r.flag(), r.num()};
}

}  // namespace kindling
