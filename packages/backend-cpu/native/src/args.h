// Argument decoding for the cpu addon's one entry, run(entry, block, count, ...arrays) (the
// convention is core's kindling_packed.h; src/native/pack.ts writes the blocks). Numbers come from
// the block; tensor storage comes from the trailing typed-array arguments, named in the block by
// [slot, element offset] (slot -1: absent). Every array is checked to be of the expected type and
// to hold every element the kernel will touch, so a bad view is a RangeError, never memory outside
// the array. The arrays are used in place (zero copy) and the call is synchronous.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "kindling_packed.h"

namespace kd {

using kindling::PackedError;

// The typed array that holds elements of T, and its name for error messages.
template <typename T>
struct ArrayKind {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, int32_t> || std::is_same_v<T, uint8_t> || std::is_same_v<T, double>);
  static constexpr napi_typedarray_type type = std::is_same_v<T, float>     ? napi_float32_array
                                               : std::is_same_v<T, int32_t> ? napi_int32_array
                                               : std::is_same_v<T, uint8_t> ? napi_uint8_array
                                                                            : napi_float64_array;
  static constexpr const char* name = std::is_same_v<T, float>     ? "Float32Array"
                                      : std::is_same_v<T, int32_t> ? "Int32Array"
                                      : std::is_same_v<T, uint8_t> ? "Uint8Array"
                                                                   : "Float64Array";
};

// A strided operand: its array (already offset so that base[offset + Σ i·stride] is valid) and layout.
template <typename T>
struct StridedArg {
  T* base = nullptr;
  int64_t offset = 0;
  const int64_t* strides = nullptr;
};

class Args : public kindling::PackedReader {
 public:
  // The block is info[1] (checked by the caller), its count info[2]; arrays start at info[3].
  Args(const Napi::CallbackInfo& info, const double* data, size_t count) : PackedReader(data, count), info_(info) {
    ints_.reserve(count);  // ints() hands out pointers into it: it must never reallocate
  }

  // n checked integers from the block, kept alive for the call (shapes, strides, geometry).
  const int64_t* ints(size_t n) {
    const size_t at = ints_.size();
    if (at + n > ints_.capacity()) throw PackedError("packed arguments too short", true);
    for (size_t k = 0; k < n; k++) ints_.push_back(int64());
    return ints_.data() + at;
  }

  // The typed array passed in `slot`, of the type T stands for.
  template <typename T>
  Napi::TypedArrayOf<T> array(int64_t slot, const char* what) {
    const size_t arg = 3 + static_cast<size_t>(slot);
    if (slot < 0 || arg >= info_.Length()) {
      throw PackedError(std::string(what) + ": array slot " + std::to_string(slot) + " was not passed (" + std::to_string(info_.Length() - 3) + " arrays)", true);
    }
    const Napi::Value v = info_[arg];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != ArrayKind<T>::type) {
      throw PackedError(std::string(what) + ": expected a " + ArrayKind<T>::name + ", got " + js_type(v), false);
    }
    return v.As<Napi::TypedArrayOf<T>>();
  }

  // A dense operand [slot, offset] of `need` elements.
  template <typename T>
  T* dense(int64_t need, const char* what, bool nullable = false) {
    const int64_t slot = int64();
    const int64_t offset = int64();
    if (nullable && slot == -1) return nullptr;
    auto arr = array<T>(slot, what);
    // A detached buffer (transferred to a worker) has length 0 and no data: every access is refused.
    const int64_t len = static_cast<int64_t>(arr.ElementLength());
    check_span(what, offset, need, len);
    return arr.Data() + offset;
  }

  // A strided operand [slot, offset, strides[nd]] over `shape`, checked against the elements it reaches.
  template <typename T>
  StridedArg<T> strided(int nd, const int64_t* shape, const char* what) {
    const int64_t slot = int64();
    const int64_t offset = int64();
    return placed<T>(slot, offset, nd, shape, ints(static_cast<size_t>(nd)), what);
  }

  // The array in `slot` walked from `offset` by (shape, strides), checked against the elements it reaches.
  template <typename T>
  StridedArg<T> placed(int64_t slot, int64_t offset, int nd, const int64_t* shape, const int64_t* strides, const char* what) {
    StridedArg<T> s;
    s.offset = offset;
    s.strides = strides;
    int64_t lo, hi;
    kindling::strided_extent(nd, shape, strides, lo, hi);
    auto arr = array<T>(slot, what);
    s.base = arr.Data();
    if (hi < lo) return s;  // empty view: nothing is touched
    const int64_t len = static_cast<int64_t>(arr.ElementLength());
    const int64_t first = kindling::checked_add(offset, lo), need = kindling::checked_add(kindling::checked_sub(hi, lo), 1);
    check_span(what, first, need, len);
    return s;
  }

 private:
  // Elements [first, first + need) must lie in an array of len elements.
  static void check_span(const char* what, int64_t first, int64_t need, int64_t len) {
    if (first < 0 || need < 0 || first > len || need > len - first) {
      throw PackedError(std::string(what) + ": " + std::to_string(need) + " elements at offset " + std::to_string(first) + " overflow an array of " +
                            std::to_string(len),
                        true);
    }
  }
  // What a JavaScript value is, for error messages.
  static std::string js_type(const Napi::Value& v) {
    switch (v.Type()) {
      case napi_undefined: return "undefined";
      case napi_null: return "null";
      case napi_object: return v.IsTypedArray() ? "a typed array of another type" : v.IsArray() ? "an array" : "an object";
      default: return "a value of another type";
    }
  }
  const Napi::CallbackInfo& info_;
  std::vector<int64_t> ints_;
};

}  // namespace kd
