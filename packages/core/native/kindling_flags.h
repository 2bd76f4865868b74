// The native addons read their KINDLING_* switches through this header, with the spelling of core's
// flag registry (packages/core/src/kit/flags.ts, where every switch is declared with its default
// and description): 1/true/on/yes switch on, 0/false/off/no switch off (any case, surrounding
// spaces ignored), unset or blank keeps the default. Anything else throws std::invalid_argument
// naming the variable and the value. The TypeScript side parses every switch of a backend when
// the backend is created (checkFlags), so a bad value is normally reported there first.
#pragma once

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace kindling {

// The variable's value without surrounding spaces; empty when unset or blank.
inline std::string flag_raw(const char* name) {
  const char* v = std::getenv(name);
  std::string s = v ? v : "";
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

inline bool flag_bool(const char* name, bool default_value) {
  const std::string raw = flag_raw(name);
  if (raw.empty()) return default_value;
  std::string v = raw;
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "off" || v == "no") return false;
  throw std::invalid_argument(std::string(name) + "='" + raw + "': expected 1/true/on/yes (on) or 0/false/off/no (off)");
}

// An integer switch (>= min_value), or default_value when unset or blank.
inline long long flag_int(const char* name, long long default_value, long long min_value = 0) {
  const std::string raw = flag_raw(name);
  if (raw.empty()) return default_value;
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(raw.c_str(), &end, 10);
  if (errno != 0 || !end || *end != 0 || n < min_value) {
    throw std::invalid_argument(std::string(name) + "='" + raw + "': expected an integer >= " + std::to_string(min_value));
  }
  return n;
}

// A string switch; empty when unset or blank.
inline std::string flag_string(const char* name) { return flag_raw(name); }

}  // namespace kindling
