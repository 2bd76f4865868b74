#include "cublas_loader.h"

#include <dlfcn.h>

#include "dynlib.h"

namespace kc {
namespace blas {
namespace {

const LibrarySpec kSpec{"cuBLAS", "libcublas", "KINDLING_CUDA_CUBLAS", "KINDLING_CUBLAS_LIBRARY",
                        {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}, "own tiled kernels"};

LoadedLibrary<Api>& loaded() {
  static LoadedLibrary<Api> l = load_unless_disabled<Api>(kSpec, load);
  return l;
}

}  // namespace

bool load(const char* path, Api& out, std::string& status) {
  Api a;
  std::string used;
#define KC_CUBLAS_SYMBOL(name, ret, params) Symbol{#name, reinterpret_cast<void**>(&a.name)},
  void* lib = open_api(kSpec, path, {KC_CUBLAS_ENTRY_POINTS(KC_CUBLAS_SYMBOL)}, used, status);
#undef KC_CUBLAS_SYMBOL
  if (!lib) return false;
  // The library stays loaded for the life of the process.
  status = "cuBLAS (" + used + ", loaded at run time)";
  out = a;
  return true;
}

const Api* api() {
  const auto& l = loaded();
  return l.ok ? &l.api : nullptr;
}

const std::string& status() { return loaded().status; }

}  // namespace blas
}  // namespace kc
