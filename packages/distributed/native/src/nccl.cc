#include "nccl.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace kindling_nccl {
namespace {

// The entry points the process group needs (signatures from NCCL's public nccl.h; the handles
// are opaque pointers, so no NCCL or CUDA header is needed).
using ncclResult_t = int;
struct Api {
  ncclResult_t (*getVersion)(int*) = nullptr;
  const char* (*getErrorString)(ncclResult_t) = nullptr;
  void* getUniqueId = nullptr;
  void* commInitRank = nullptr;
  void* commDestroy = nullptr;
  void* allReduce = nullptr;
  void* broadcast = nullptr;
  void* allGather = nullptr;
  void* reduceScatter = nullptr;
};

struct Loaded {
  Api api;
  void* lib = nullptr;
  std::string library;
  std::string reason;
};

// $KINDLING_NCCL_LIBRARY names the one library to try; otherwise the loader's search path, where
// NVIDIA's packages and the nvidia-nccl wheel (via LD_LIBRARY_PATH) put libnccl.so.2.
Loaded load() {
  Loaded r;
  const char* named = std::getenv("KINDLING_NCCL_LIBRARY");
  std::vector<const char*> names = named && *named ? std::vector<const char*>{named} : std::vector<const char*>{"libnccl.so.2", "libnccl.so"};
  std::string why;
  for (const char* n : names) {
    r.lib = dlopen(n, RTLD_NOW | RTLD_LOCAL);
    if (r.lib) {
      r.library = n;
      break;
    }
    const char* e = dlerror();
    why += (why.empty() ? "" : "; ") + std::string(e ? e : "dlopen failed");
  }
  if (!r.lib) {
    r.reason = why + (named && *named ? "" : " (install NCCL or set KINDLING_NCCL_LIBRARY)");
    return r;
  }
  struct Sym {
    const char* name;
    void** slot;
  } syms[] = {{"ncclGetVersion", reinterpret_cast<void**>(&r.api.getVersion)},
              {"ncclGetErrorString", reinterpret_cast<void**>(&r.api.getErrorString)},
              {"ncclGetUniqueId", &r.api.getUniqueId},
              {"ncclCommInitRank", &r.api.commInitRank},
              {"ncclCommDestroy", &r.api.commDestroy},
              {"ncclAllReduce", &r.api.allReduce},
              {"ncclBroadcast", &r.api.broadcast},
              {"ncclAllGather", &r.api.allGather},
              {"ncclReduceScatter", &r.api.reduceScatter}};
  std::string missing;
  for (auto& s : syms) {
    *s.slot = dlsym(r.lib, s.name);
    if (!*s.slot) missing += (missing.empty() ? "" : ", ") + std::string(s.name);
  }
  if (!missing.empty()) {
    r.reason = r.library + " lacks " + missing;
    dlclose(r.lib);
    r.lib = nullptr;
  }
  return r;
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const Loaded& l = loaded();
  auto o = Napi::Object::New(env);
  o.Set("available", Napi::Boolean::New(env, l.lib != nullptr));
  if (!l.lib) {
    o.Set("reason", l.reason);
    return o;
  }
  int v = 0;
  ncclResult_t rc = l.api.getVersion(&v);
  if (rc != 0) {
    o.Set("available", Napi::Boolean::New(env, false));
    o.Set("reason", std::string("ncclGetVersion failed: ") + l.api.getErrorString(rc));
    return o;
  }
  // NCCL encodes 2.x.y as x*100+y+20000 (2.9 and later) and as x*100+y+1000 before that.
  int major = v >= 10000 ? v / 10000 : v / 1000;
  int minor = v >= 10000 ? (v % 10000) / 100 : (v % 1000) / 100;
  int patch = v % 100;
  o.Set("library", l.library);
  o.Set("version", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch));
  return o;
}

}  // namespace

void Init(Napi::Env env, Napi::Object exports) { exports.Set("ncclProbe", Napi::Function::New(env, Probe)); }

}  // namespace kindling_nccl
