#include "isa.h"

#include <strings.h>

#include <cstdlib>
#include <cstring>

namespace kd {

bool use_avx512() {
  static const bool on = [] {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) return false;
    const char* env = std::getenv("KINDLING_CPU_AVX512");
    if (env && (!std::strcmp(env, "0") || !strcasecmp(env, "false") || !strcasecmp(env, "off") || !strcasecmp(env, "no"))) return false;
    return true;
  }();
  return on;
}

}  // namespace kd
