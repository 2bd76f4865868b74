// The addon's switches are environment variables (KINDLING_CUDA_*), read with one rule: "1",
// "true" and "on" switch a feature on; "0", "false" and "off" switch it off; anything else, or
// nothing, leaves its default.
#pragma once

#include <cstdlib>
#include <cstring>

namespace kc {

inline bool env_flag(const char* name, bool default_value) {
  const char* v = std::getenv(name);
  if (!v) return default_value;
  if (!std::strcmp(v, "1") || !std::strcmp(v, "true") || !std::strcmp(v, "on")) return true;
  if (!std::strcmp(v, "0") || !std::strcmp(v, "false") || !std::strcmp(v, "off")) return false;
  return default_value;
}

}  // namespace kc
