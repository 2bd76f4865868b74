// Compile-time checks that an entry point we declare ourselves (to dlopen a vendor library) has the
// ABI of the real declaration: the same parameter count, and each parameter the same type, or an
// enum we pass as int (or a pointer to one as int*), or a struct that param_twin says has the same
// layout. Used by the host checks of native/src/cudnn_api.h and cublas_loader.h.
#pragma once

#include <type_traits>

template <class Real, class Ours>
struct param_twin : std::false_type {};

template <class Real, class Ours>
constexpr bool param_ok() {
  if constexpr (std::is_same<Real, Ours>::value) {
    return true;
  } else if constexpr (std::is_same<Ours, int>::value) {
    return std::is_enum<Real>::value && sizeof(Real) == sizeof(int);
  } else if constexpr (std::is_same<Ours, int*>::value && std::is_pointer<Real>::value) {
    using Pointee = typename std::remove_pointer<Real>::type;
    return std::is_enum<Pointee>::value && sizeof(Pointee) == sizeof(int);
  } else {
    return param_twin<Real, Ours>::value;
  }
}

template <class RR, class... RA, class OR, class... OA>
constexpr bool same_abi(RR (*)(RA...), OR (*)(OA...)) {
  if constexpr (sizeof...(RA) != sizeof...(OA)) {
    return false;
  } else {
    return param_ok<RR, OR>() && (true && ... && param_ok<RA, OA>());
  }
}

#define KC_CHECK_ENTRY(name, ret, params) \
  static_assert(same_abi(&::name, static_cast<ret(*) params>(nullptr)), #name " is declared differently from the vendor's header");
