#include "dynlib.h"

#include <dlfcn.h>

namespace kc {

void* open_library(const LibrarySpec& spec, const char* path, std::string& used, std::string& status) {
  const bool named = path && *path;
  std::string why;
  for (const char* n : named ? std::vector<const char*>{path} : spec.defaults) {
    if (void* lib = dlopen(n, RTLD_NOW | RTLD_LOCAL)) {
      used = n;
      return lib;
    }
    const char* e = dlerror();
    why = e ? e : "dlopen failed";
  }
  status = std::string(spec.fallback) +
           (named ? std::string(" (cannot load ") + path + ": " + why + ")"
                  : std::string(" (no ") + spec.soname + " found; set " + spec.path_env + " to use one)");
  return nullptr;
}

void* open_api(const LibrarySpec& spec, const char* path, const std::vector<Symbol>& symbols, std::string& used, std::string& status) {
  void* lib = open_library(spec, path, used, status);
  if (!lib) return nullptr;
  std::string missing;
  for (const Symbol& s : symbols) {
    *s.slot = dlsym(lib, s.name);
    if (!*s.slot) missing += (missing.empty() ? "" : ", ") + std::string(s.name);
  }
  if (missing.empty()) return lib;
  status = std::string(spec.fallback) + " (" + used + " lacks " + missing + ")";
  dlclose(lib);
  return nullptr;
}

}  // namespace kc
