#include "nccl.h"

#include "kindling_flags.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace kindling_nccl {
namespace {

// The entry points the process group needs (signatures from NCCL's public nccl.h; the handles
// are opaque pointers, so no NCCL or CUDA header is needed).
using ncclResult_t = int;
using ncclComm_t = void*;
using Stream = void*;  // cudaStream_t
struct UniqueId {
  char internal[128];  // NCCL_UNIQUE_ID_BYTES
};
struct Api {
  ncclResult_t (*getVersion)(int*) = nullptr;
  const char* (*getErrorString)(ncclResult_t) = nullptr;
  ncclResult_t (*getUniqueId)(UniqueId*) = nullptr;
  ncclResult_t (*commInitRank)(ncclComm_t*, int, UniqueId, int) = nullptr;
  ncclResult_t (*commDestroy)(ncclComm_t) = nullptr;
  ncclResult_t (*allReduce)(const void*, void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*broadcast)(const void*, void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*allGather)(const void*, void*, size_t, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*reduceScatter)(const void*, void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
};

// The CUDA driver, only to make the rank's device current on the thread that creates the
// communicator (NCCL uses the calling thread's device; its own CUDA runtime follows the driver's
// current context, which is the device's primary context, the one @kindling/backend-cuda uses).
struct Driver {
  int (*init)(unsigned) = nullptr;
  int (*deviceGet)(int*, int) = nullptr;
  int (*primaryCtxRetain)(void**, int) = nullptr;
  int (*ctxSetCurrent)(void*) = nullptr;
  bool ok = false;
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
  const std::string named = kindling::flag_string("KINDLING_NCCL_LIBRARY");
  std::vector<const char*> names = !named.empty() ? std::vector<const char*>{named.c_str()} : std::vector<const char*>{"libnccl.so.2", "libnccl.so"};
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
    r.reason = why + (!named.empty() ? "" : " (install NCCL or set KINDLING_NCCL_LIBRARY)");
    return r;
  }
  struct Sym {
    const char* name;
    void** slot;
  } syms[] = {{"ncclGetVersion", reinterpret_cast<void**>(&r.api.getVersion)},
              {"ncclGetErrorString", reinterpret_cast<void**>(&r.api.getErrorString)},
              {"ncclGetUniqueId", reinterpret_cast<void**>(&r.api.getUniqueId)},
              {"ncclCommInitRank", reinterpret_cast<void**>(&r.api.commInitRank)},
              {"ncclCommDestroy", reinterpret_cast<void**>(&r.api.commDestroy)},
              {"ncclAllReduce", reinterpret_cast<void**>(&r.api.allReduce)},
              {"ncclBroadcast", reinterpret_cast<void**>(&r.api.broadcast)},
              {"ncclAllGather", reinterpret_cast<void**>(&r.api.allGather)},
              {"ncclReduceScatter", reinterpret_cast<void**>(&r.api.reduceScatter)}};
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

const Api& api(Napi::Env env) {
  const Loaded& l = loaded();
  if (!l.lib) throw Napi::Error::New(env, "nccl unavailable: " + l.reason);
  return l.api;
}

void check(Napi::Env env, ncclResult_t rc, const char* what) {
  if (rc != 0) throw Napi::Error::New(env, std::string(what) + ": " + loaded().api.getErrorString(rc));
}

const Driver& driver() {
  static const Driver d = [] {
    Driver r;
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return r;
    r.init = reinterpret_cast<int (*)(unsigned)>(dlsym(lib, "cuInit"));
    r.deviceGet = reinterpret_cast<int (*)(int*, int)>(dlsym(lib, "cuDeviceGet"));
    r.primaryCtxRetain = reinterpret_cast<int (*)(void**, int)>(dlsym(lib, "cuDevicePrimaryCtxRetain"));
    r.ctxSetCurrent = reinterpret_cast<int (*)(void*)>(dlsym(lib, "cuCtxSetCurrent"));
    r.ok = r.init && r.deviceGet && r.primaryCtxRetain && r.ctxSetCurrent && r.init(0) == 0;
    return r;
  }();
  return d;
}

// ncclUniqueId() → Buffer: rank 0 makes it, the store hands it to the others.
Napi::Value MakeUniqueId(const Napi::CallbackInfo& info) {
  UniqueId id;
  check(info.Env(), api(info.Env()).getUniqueId(&id), "ncclGetUniqueId");
  return Napi::Buffer<char>::Copy(info.Env(), id.internal, sizeof id.internal);
}

// A communicator: new NcclComm(); init(id, nranks, rank, device) → Promise (it blocks until every
// rank joins, so it runs on a thread); collectives queue on the given stream and return at once.
class Comm : public Napi::ObjectWrap<Comm> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NcclComm",
                       {InstanceMethod("init", &Comm::InitRank), InstanceMethod("allReduce", &Comm::AllReduce),
                        InstanceMethod("broadcast", &Comm::Broadcast), InstanceMethod("allGather", &Comm::AllGather),
                        InstanceMethod("reduceScatter", &Comm::ReduceScatter), InstanceMethod("destroy", &Comm::Destroy)});
  }
  explicit Comm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Comm>(info) {}
  ~Comm() override { release(); }

 private:
  class InitWorker : public Napi::AsyncWorker {
   public:
    InitWorker(Napi::Env env, Comm* c, UniqueId id, int n, int rank, int device)
        : Napi::AsyncWorker(env), d_(Napi::Promise::Deferred::New(env)), c_(c), id_(id), n_(n), rank_(rank), device_(device) {}
    Napi::Promise Promise() { return d_.Promise(); }
    void Execute() override {
      const Driver& drv = driver();
      if (!drv.ok) return SetError("nccl: the CUDA driver (libcuda.so.1) cannot be opened to select the device");
      int dev = 0;
      void* ctx = nullptr;
      if (drv.deviceGet(&dev, device_) != 0 || drv.primaryCtxRetain(&ctx, dev) != 0 || drv.ctxSetCurrent(ctx) != 0) {
        return SetError("nccl: cannot make cuda:" + std::to_string(device_) + " current");
      }
      const Api& a = loaded().api;
      ncclResult_t rc = a.commInitRank(&comm_, n_, id_, rank_);
      if (rc != 0) SetError(std::string("ncclCommInitRank: ") + a.getErrorString(rc));
    }
    void OnOK() override {
      c_->comm_ = comm_;
      c_->Unref();
      d_.Resolve(Env().Undefined());
    }
    void OnError(const Napi::Error& e) override {
      c_->Unref();
      d_.Reject(e.Value());
    }

   private:
    Napi::Promise::Deferred d_;
    Comm* c_;
    UniqueId id_;
    int n_, rank_, device_;
    ncclComm_t comm_ = nullptr;
  };

  Napi::Value InitRank(const Napi::CallbackInfo& info) {
    api(info.Env());
    auto buf = info[0].As<Napi::Buffer<char>>();
    UniqueId id;
    if (buf.Length() != sizeof id.internal) throw Napi::Error::New(info.Env(), "nccl: a unique id is 128 bytes");
    std::memcpy(id.internal, buf.Data(), sizeof id.internal);
    auto* w = new InitWorker(info.Env(), this, id, info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value(),
                             info[3].As<Napi::Number>().Int32Value());
    Ref();  // the communicator object outlives the worker
    auto p = w->Promise();
    w->Queue();
    return p;
  }

  ncclComm_t comm(Napi::Env env) {
    if (!comm_) throw Napi::Error::New(env, "nccl: the communicator is not initialised or was destroyed");
    return comm_;
  }
  static void* ptr(const Napi::Value& v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v.As<Napi::Number>().DoubleValue())); }
  static size_t count(const Napi::Value& v) { return static_cast<size_t>(v.As<Napi::Number>().DoubleValue()); }
  static int i32(const Napi::Value& v) { return v.As<Napi::Number>().Int32Value(); }

  // allReduce(ptr, count, dtype, op, stream): in place. dtype: NCCL's codes (int32 2, float32 7),
  // op: ncclSum 0, ncclMax 2, ncclMin 3, ncclAvg 4.
  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    check(env, api(env).allReduce(ptr(info[0]), ptr(info[0]), count(info[1]), i32(info[2]), i32(info[3]), comm(env), ptr(info[4])), "ncclAllReduce");
    return env.Undefined();
  }
  // broadcast(ptr, count, dtype, root, stream): in place.
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    check(env, api(env).broadcast(ptr(info[0]), ptr(info[0]), count(info[1]), i32(info[2]), i32(info[3]), comm(env), ptr(info[4])), "ncclBroadcast");
    return env.Undefined();
  }
  // allGather(send, recv, sendCount, dtype, stream)
  Napi::Value AllGather(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    check(env, api(env).allGather(ptr(info[0]), ptr(info[1]), count(info[2]), i32(info[3]), comm(env), ptr(info[4])), "ncclAllGather");
    return env.Undefined();
  }
  // reduceScatter(send, recv, recvCount, dtype, op, stream)
  Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    check(env, api(env).reduceScatter(ptr(info[0]), ptr(info[1]), count(info[2]), i32(info[3]), i32(info[4]), comm(env), ptr(info[5])), "ncclReduceScatter");
    return env.Undefined();
  }
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }
  void release() {
    if (comm_) loaded().api.commDestroy(comm_);
    comm_ = nullptr;
  }

  ncclComm_t comm_ = nullptr;
};

}  // namespace

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("ncclProbe", Napi::Function::New(env, Probe));
  exports.Set("ncclUniqueId", Napi::Function::New(env, MakeUniqueId));
  exports.Set("NcclComm", Comm::Define(env));
}

}  // namespace kindling_nccl
