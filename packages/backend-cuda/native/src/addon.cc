// The N-API surface of the CUDA backend: one Context object per device, with its memory
// (alloc/free/write), readbacks and sync points (read/sync, settled on a libuv worker), and the one
// kernel entry, Context.run(entry, block, count): the calling convention of core's
// kindling_packed.h, device memory named by pointer inside the block (args.h decodes it;
// dispatch.cc lists each entry point's layout). One call and no property lookups per kernel keeps
// the per-op overhead small, which is what bounds small networks on a GPU.
//
// The module loads on machines without a GPU or driver (the CUDA runtime is linked statically);
// probe() then reports why CUDA is unavailable.
#include <napi.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "context.h"
#include "cudnn_conv.h"
#include "dispatch.h"
#include "gemm.h"
#include "kindling_flags.h"
#include "ops.h"

namespace {

using kc::Context;
using kindling::safe_integer;

// The entry points (kc::EntryOp: OP_COPY, ...) and their names come from core's KERNEL_ENTRY_POINTS, in
// the generated kindling_ops.h (ops.h), as src/pack.ts numbers them.
using kc::kEntryOpNames;

// A profile key for a unary / binary / reduce call: the op's name in core's table (its code is the
// first packed value), or the entry point and the code when that is out of range.
std::string op_code_name(int op, const double* args, size_t n) {
  const int c = n > 0 && args[0] >= 0 && args[0] < 1024 ? static_cast<int>(args[0]) : -1;
  if (op == kc::OP_UNARY && c >= 0 && c < kc::U_COUNT) return kc::kUnaryOpNames[c];
  if (op == kc::OP_BINARY && c >= 0 && c < kc::B_COUNT) return kc::kBinaryOpNames[c];
  if (op == kc::OP_REDUCE && c >= 0 && c < kc::R_COUNT) return kc::kReduceOpNames[c];
  return std::string(kEntryOpNames[op]) + ":" + std::to_string(c);
}

// Argument checks for the Context methods: a value read with .As<Napi::Number>() that is not a
// number leaves a pending napi error, which aborts the process (C++ exceptions are off in
// node-addon-api), so every argument is checked first and refused with a TypeError/RangeError.
struct ArgError : kc::Error {
  ArgError(const std::string& m, bool range) : kc::Error(m, range) {}
};

double arg_number(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) throw ArgError(std::string(what) + " must be a number", false);
  return info[i].As<Napi::Number>().DoubleValue();
}
int64_t arg_size(const Napi::CallbackInfo& info, size_t i, const char* what) {
  const double d = arg_number(info, i, what);
  if (!safe_integer(d) || d < 0) throw ArgError(std::string(what) + " must be a non-negative safe integer, got " + std::to_string(d), true);
  return static_cast<int64_t>(d);
}

void throw_js(Napi::Env env, const kc::Error& e) {
  if (e.is_range) Napi::RangeError::New(env, e.what()).ThrowAsJavaScriptException();
  else if (dynamic_cast<const ArgError*>(&e)) Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
  else Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
}

// A typed array of the dtype holding a copy of `bytes` bytes at `src`.
Napi::Value typed_array(Napi::Env env, const void* src, size_t bytes, int dtype) {
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(ab.Data(), src, bytes);
  const size_t n = bytes / kc::dtype_bytes(dtype);
  if (dtype == kc::F32) return Napi::Float32Array::New(env, n, ab, 0);
  if (dtype == kc::I32) return Napi::Int32Array::New(env, n, ab, 0);
  return Napi::Uint8Array::New(env, n, ab, 0);
}

// A readback or sync point whose event has already completed is settled at once, on the calling
// thread: no wait can block the event loop then, and the hop through a libuv worker (about 40 µs)
// is saved. Returns false (leaving the caller to queue a WaitWorker) when the event is pending.
bool settle_if_done(Napi::Env env, Context& ctx, cudaEvent_t ev, const void* host, size_t bytes, int dtype, bool readback,
                    Napi::Promise::Deferred& d) {
  const cudaError_t q = cudaEventQuery(ev);
  if (q != cudaSuccess) {
    if (q == cudaErrorNotReady) cudaGetLastError();  // not an error: the worker will wait
    return false;  // a real fault is reported by the worker, with its full message
  }
  const int code = ctx.take_device_error();
  if (code) d.Reject(Napi::Error::New(env, kc::device_error_message(code)).Value());
  else if (readback) d.Resolve(typed_array(env, host, bytes, dtype));
  else d.Resolve(env.Undefined());
  return true;
}

// Waits (on a libuv worker thread, never the event loop) for a staged readback or a sync point,
// then checks the device-side error word.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, Napi::Object owner, Context* ctx, cudaEvent_t ev, bool own_event, int slot, void* host, size_t bytes, int dtype)
      : Napi::AsyncWorker(env, "kindling-cuda-wait"), deferred_(Napi::Promise::Deferred::New(env)), ctx_(ctx), ev_(ev), own_event_(own_event),
        slot_(slot), host_(host), bytes_(bytes), dtype_(dtype) {
    owner_ = Napi::Persistent(owner);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    const cudaError_t e = cudaEventSynchronize(ev_);
    if (e != cudaSuccess) {
      SetError(std::string("cuda ") + (slot_ >= 0 ? "read" : "sync") + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) +
               " (raised by a kernel queued earlier; set KINDLING_CUDA_SYNC=1 to find which op)");
      return;
    }
    const int code = ctx_->take_device_error();
    if (code) SetError(kc::device_error_message(code));
  }

  void OnOK() override {
    // The staging block stays held until finish(), so it is read straight into the result.
    if (slot_ >= 0) deferred_.Resolve(typed_array(Env(), host_, bytes_, dtype_));
    else deferred_.Resolve(Env().Undefined());
    finish();
  }

  void OnError(const Napi::Error& e) override {
    finish();
    deferred_.Reject(e.Value());
  }

 private:
  void finish() {
    if (slot_ >= 0) ctx_->release_staging(slot_);
    if (own_event_) cudaEventDestroy(ev_);
  }
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;
  Context* ctx_;
  cudaEvent_t ev_;
  bool own_event_;
  int slot_;
  void* host_;
  size_t bytes_;
  int dtype_;
};

class ContextWrap : public Napi::ObjectWrap<ContextWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Context",
                       {InstanceMethod("alloc", &ContextWrap::Alloc), InstanceMethod("free", &ContextWrap::Free),
                        InstanceMethod("write", &ContextWrap::Write), InstanceMethod("read", &ContextWrap::Read),
                        InstanceMethod("sync", &ContextWrap::Sync), InstanceMethod("memory", &ContextWrap::Memory),
                        InstanceMethod("emptyCache", &ContextWrap::EmptyCache), InstanceMethod("info", &ContextWrap::Info),
                        InstanceMethod("run", &ContextWrap::Run), InstanceMethod("dispose", &ContextWrap::Dispose),
                        InstanceMethod("profile", &ContextWrap::Profile), InstanceMethod("stream", &ContextWrap::Stream)});
  }

  explicit ContextWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ContextWrap>(info) {
    try {
      const int64_t device = arg_size(info, 0, "Context: device");
      if (device > INT32_MAX) throw ArgError("Context: device " + std::to_string(device) + " is out of range", true);
      ctx_ = std::make_unique<Context>(static_cast<int>(device));
    } catch (const kc::Error& e) {
      throw_js(info.Env(), e);
    }
    profiling_ = kindling::flag_bool("KINDLING_CUDA_PROFILE", false);
  }

 private:
  template <typename F>
  Napi::Value guarded(const Napi::CallbackInfo& info, F&& body) {
    if (!ctx_) {
      Napi::Error::New(info.Env(), "cuda: this device context was disposed").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    try {
      ctx_->activate();
      return body();
    } catch (const kc::Error& e) {
      throw_js(info.Env(), e);
    } catch (const std::exception& e) {
      Napi::Error::New(info.Env(), std::string("cuda: ") + e.what()).ThrowAsJavaScriptException();
    }
    return info.Env().Undefined();
  }

  // A device pointer from JavaScript: it must be a live block of this context, and
  // [byteOffset, byteOffset + bytes) must lie inside it.
  char* block_range(const Napi::CallbackInfo& info, const char* op, int64_t byte_offset, int64_t bytes) {
    const int64_t p = arg_size(info, 0, (std::string(op) + ": pointer").c_str());
    void* ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(p));
    const size_t block = ctx_->allocator().block_size(ptr);
    if (block == 0) throw ArgError(std::string(op) + ": " + std::to_string(p) + " is not a live buffer of this device (freed, or not allocated here)", true);
    if (byte_offset > static_cast<int64_t>(block) || bytes > static_cast<int64_t>(block) - byte_offset) {
      throw ArgError(std::string(op) + ": " + std::to_string(bytes) + " bytes at byte offset " + std::to_string(byte_offset) + " overflow a buffer of " +
                         std::to_string(block) + " bytes", true);
    }
    return static_cast<char*>(ptr) + byte_offset;
  }

  Napi::Value Alloc(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      const int64_t bytes = arg_size(info, 0, "alloc: bytes");
      void* p = ctx_->allocator().alloc(static_cast<size_t>(bytes));
      const uintptr_t u = reinterpret_cast<uintptr_t>(p);
      if (u >= (uintptr_t(1) << 53)) throw kc::Error("alloc: device address does not fit a JavaScript number");
      return Napi::Number::New(info.Env(), static_cast<double>(u));
    });
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      ctx_->allocator().free(reinterpret_cast<void*>(static_cast<uintptr_t>(arg_size(info, 0, "free: pointer"))));
      return info.Env().Undefined();
    });
  }

  // write(ptr, byteOffset, typedArray)
  Napi::Value Write(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      if (!info[2].IsTypedArray()) throw ArgError("write: data must be a typed array", false);
      auto ta = info[2].As<Napi::TypedArray>();
      char* dst = block_range(info, "write", arg_size(info, 1, "write: byteOffset"), static_cast<int64_t>(ta.ByteLength()));
      const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      if (ta.ByteLength() == 0) return info.Env().Undefined();  // also a detached buffer: nothing to copy
      ctx_->upload(dst, src, ta.ByteLength());
      ctx_->after_launch("write");
      return info.Env().Undefined();
    });
  }

  // read(ptr, byteOffset, bytes, dtype) → Promise<TypedArray>
  Napi::Value Read(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      const int64_t nbytes = arg_size(info, 2, "read: bytes");
      const char* src = block_range(info, "read", arg_size(info, 1, "read: byteOffset"), nbytes);
      const size_t bytes = static_cast<size_t>(nbytes);
      const int64_t dt = arg_size(info, 3, "read: dtype");
      if (dt != kc::F32 && dt != kc::I32 && dt != kc::BOOL) throw ArgError("read: unknown dtype code " + std::to_string(dt), true);
      const int dtype = static_cast<int>(dt);
      const int slot = ctx_->download(src, bytes);
      kc::Staging& s = ctx_->staging(slot);
      auto d = Napi::Promise::Deferred::New(info.Env());
      if (settle_if_done(info.Env(), *ctx_, s.done, s.host, bytes, dtype, true, d)) {
        ctx_->release_staging(slot);
        return d.Promise();
      }
      auto* w = new WaitWorker(info.Env(), Value(), ctx_.get(), s.done, false, slot, s.host, bytes, dtype);
      Napi::Promise p = w->Promise();
      w->Queue();
      return p;
    });
  }

  Napi::Value Sync(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      cudaEvent_t ev = ctx_->record();
      auto d = Napi::Promise::Deferred::New(info.Env());
      if (settle_if_done(info.Env(), *ctx_, ev, nullptr, 0, 0, false, d)) {
        cudaEventDestroy(ev);
        return d.Promise();
      }
      auto* w = new WaitWorker(info.Env(), Value(), ctx_.get(), ev, true, -1, nullptr, 0, 0);
      Napi::Promise p = w->Promise();
      w->Queue();
      return p;
    });
  }

  Napi::Value Memory(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      auto& a = ctx_->allocator();
      Napi::Array r = Napi::Array::New(info.Env(), 3);
      r.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(a.live_blocks())));
      r.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(a.live_bytes())));
      r.Set(2u, Napi::Number::New(info.Env(), static_cast<double>(a.cached_bytes())));
      return r;
    });
  }

  Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      ctx_->allocator().empty_cache();
      return info.Env().Undefined();
    });
  }

  // The device's stream as a number, for libraries that queue work on it (NCCL in
  // @kindling/distributed): ordered with every kernel this context launches.
  Napi::Value Stream(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      const uintptr_t u = reinterpret_cast<uintptr_t>(ctx_->stream());
      if (u >= (uintptr_t(1) << 53)) throw kc::Error("stream: handle does not fit a JavaScript number");
      return Napi::Number::New(info.Env(), static_cast<double>(u));
    });
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      const cudaDeviceProp& p = ctx_->props();
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("name", p.name);
      o.Set("computeCapability", std::to_string(p.major) + "." + std::to_string(p.minor));
      o.Set("multiProcessors", p.multiProcessorCount);
      o.Set("totalMemory", static_cast<double>(p.totalGlobalMem));
      o.Set("matmul", kc::gemm_cublas_status());
      o.Set("conv", kc::cudnn_conv_status(*ctx_));
      return o;
    });
  }

  // run(entry, block: Float64Array, count)
  Napi::Value Run(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      const int64_t op64 = arg_size(info, 0, "run: entry point code");
      if (op64 >= kc::OP_COUNT) throw ArgError("run: unknown entry point code " + std::to_string(op64), true);
      const int op = static_cast<int>(op64);
      if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throw ArgError(std::string(kEntryOpNames[op]) + ": the packed block must be a Float64Array", false);
      }
      auto arr = info[1].As<Napi::Float64Array>();
      const int64_t count = arg_size(info, 2, "run: count");
      if (count > static_cast<int64_t>(arr.ElementLength())) {
        throw ArgError(std::string(kEntryOpNames[op]) + ": count must be an integer in [0, " + std::to_string(arr.ElementLength()) + "] (the block's length)", true);
      }
      kc::Args a(ctx_->allocator(), arr.Data(), static_cast<size_t>(count));
      const char* name = op >= 0 && op < kc::OP_COUNT ? kEntryOpNames[op] : "run";
      Sample sample;
      if (profiling_) {
        sample.key = name;
        if (op == kc::OP_UNARY || op == kc::OP_BINARY || op == kc::OP_REDUCE) sample.key = op_code_name(op, arr.Data(), static_cast<size_t>(count));
        sample.host0 = std::chrono::steady_clock::now();
        cudaEventCreate(&sample.start);
        cudaEventCreate(&sample.end);
        cudaEventRecord(sample.start, ctx_->stream());
      }
      // Errors get the entry point's name in front, unless the message already starts with it.
      auto prefixed = [&](const std::string& m) { return m.rfind(name, 0) == 0 || m.rfind("cuda ", 0) == 0 ? m : std::string(name) + ": " + m; };
      try {
        kc::run_op(*ctx_, op, a);
      } catch (const kc::Error& e) {
        throw kc::Error(prefixed(e.what()), e.is_range);
      } catch (const kindling::PackedError& e) {
        throw kc::Error(prefixed(e.what()), e.range);
      }
      ctx_->after_launch(name);
      if (profiling_) {
        cudaEventRecord(sample.end, ctx_->stream());
        sample.host_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - sample.host0).count();
        samples_.push_back(sample);
      }
      return info.Env().Undefined();
    });
  }

  // profile() → { [op]: [count, host µs, device µs] } since the last call (KINDLING_CUDA_PROFILE=1):
  // host time is the call itself (packing, checks, launches), device time the kernels' span on the stream.
  Napi::Value Profile(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      cudaStreamSynchronize(ctx_->stream());
      std::map<std::string, std::array<double, 3>> agg;
      for (auto& s : samples_) {
        float ms = 0;
        cudaEventElapsedTime(&ms, s.start, s.end);
        auto& a = agg[s.key];
        a[0] += 1;
        a[1] += s.host_us;
        a[2] += ms * 1000.0;
        cudaEventDestroy(s.start);
        cudaEventDestroy(s.end);
      }
      samples_.clear();
      Napi::Object o = Napi::Object::New(info.Env());
      for (auto& kv : agg) {
        Napi::Array r = Napi::Array::New(info.Env(), 3);
        for (uint32_t i = 0; i < 3; i++) r.Set(i, kv.second[i]);
        o.Set(kv.first, r);
      }
      return o;
    });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    ctx_.reset();
    return info.Env().Undefined();
  }

  struct Sample {
    std::string key;
    std::chrono::steady_clock::time_point host0;
    double host_us = 0;
    cudaEvent_t start = nullptr, end = nullptr;
  };
  std::unique_ptr<Context> ctx_;
  bool profiling_ = false;
  std::vector<Sample> samples_;
};

// probe() → { count, error?, runtimeVersion, driverVersion }
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  o.Set("runtimeVersion", runtime);
  o.Set("driverVersion", driver);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    o.Set("count", 0);
    o.Set("error", std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e));
  } else {
    o.Set("count", count);
  }
  o.Set("matmul", kc::gemm_cublas_status());
  o.Set("conv", kc::dnn::status());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  // The op names behind the codes this build was compiled with (kindling_ops.h), per family: a
  // test compares them with core's op table.
  Napi::Object names = Napi::Object::New(env);
  for (const kc::OpFamilyNames& f : kc::kOpFamilies) {
    Napi::Array a = Napi::Array::New(env, f.count);
    for (int i = 0; i < f.count; i++) a.Set(i, f.names[i]);
    names.Set(f.family, a);
  }
  exports.Set("opNames", names);
  exports.Set("Context", ContextWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(kindling_cuda, Init)
