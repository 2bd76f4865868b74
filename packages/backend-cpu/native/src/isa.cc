#include "isa.h"

namespace kd {

namespace {
bool g_avx512 = false;
}

void set_avx512(bool on) { g_avx512 = on; }
bool use_avx512() { return g_avx512; }

}  // namespace kd
