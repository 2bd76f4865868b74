// Opening an optional vendor library at run time (cuBLAS, cuDNN): the one way the addon uses them,
// so that a build never links them and still uses them where a host has them. Host code only.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include "kindling_flags.h"

namespace kc {

// What the loader of one library needs to know, and how its status reads.
struct LibrarySpec {
  const char* name;                   // "cuBLAS"
  const char* soname;                 // "libcublas"
  const char* switch_env;             // "KINDLING_CUDA_CUBLAS": 0 turns the library off
  const char* path_env;               // "KINDLING_CUBLAS_LIBRARY": the one library to try
  std::vector<const char*> defaults;  // names tried on the loader's search path otherwise
  const char* fallback;               // what runs without it: "own tiled kernels"
};

// dlopen()s `path` when it is non-empty (and then only it, so a wrong path is reported rather than
// bypassed), else the first of the spec's defaults that loads. Returns the handle and sets `used`,
// or returns null and sets `status` to "<fallback> (why)".
void* open_library(const LibrarySpec& spec, const char* path, std::string& used, std::string& status);

// An entry point and where its address goes.
struct Symbol {
  const char* name;
  void** slot;
};

// open_library(), then every symbol resolved into its slot. Returns the handle, or null (the
// library closed again) with `status` saying why: it cannot be loaded, or it lacks entry points.
void* open_api(const LibrarySpec& spec, const char* path, const std::vector<Symbol>& symbols, std::string& used, std::string& status);

// A library loaded once per process, unless its switch turns it off.
template <class Api>
struct LoadedLibrary {
  Api api;
  bool ok = false;
  std::string status;
};
template <class Api>
LoadedLibrary<Api> load_unless_disabled(const LibrarySpec& spec, bool (*load)(const char*, Api&, std::string&)) {
  LoadedLibrary<Api> r;
  if (!kindling::flag_bool(spec.switch_env, true)) {
    r.status = std::string(spec.fallback) + " (" + spec.name + " disabled by " + spec.switch_env + "=0)";
    return r;
  }
  const std::string path = kindling::flag_string(spec.path_env);
  r.ok = load(path.empty() ? nullptr : path.c_str(), r.api, r.status);
  return r;
}

}  // namespace kc
