// The N-API surface of the cpu addon: setup (init, adjustExternalMemory, opNames) and the one
// kernel entry, run(entry, block, count, ...arrays), the calling convention of core's
// kindling_packed.h. Argument decoding is args.h; the entry points and their block layouts are
// dispatch.cc. Calls are synchronous: outputs are final when run returns.
//
// This file is compiled once per ISA level, like the kernels (namespace kd is renamed per level by
// CMakeLists.txt); module.cc checks the CPU and calls the chosen level's register_bindings.
#include <napi.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "args.h"
#include "dispatch.h"
#include "gemm.h"
#include "isa.h"
#include "kindling_ops.h"
#include "threadpool.h"

namespace {

// Runs a binding's body, turning argument errors into TypeError / RangeError and anything else
// into Error, each prefixed with the binding's name unless the message already starts with it.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* op, F&& body) {
  auto prefixed = [&](const std::string& m) { return m.rfind(op, 0) == 0 ? m : std::string(op) + ": " + m; };
  try {
    return body();
  } catch (const kindling::PackedError& e) {
    if (e.range) Napi::RangeError::New(info.Env(), prefixed(e.what())).ThrowAsJavaScriptException();
    else Napi::TypeError::New(info.Env(), prefixed(e.what())).ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(info.Env(), std::string("kindling native: ") + prefixed(e.what())).ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// ---- setup ----

// Environments (the main thread, worker_threads) that called init(); the pool stops with the last.
std::mutex g_env_lock;
int g_envs = 0;

void ReleaseEnv(void*) {
  std::lock_guard<std::mutex> lk(g_env_lock);
  if (--g_envs == 0) kd::pool_shutdown();
}

// Tells V8 how many bytes tensor storage holds (napi_adjust_external_memory): V8 then starts a
// collection when they grow, not only when its own heap does, so tensors a program drops without
// dispose() are found in proportion to their size (issue 13, docs/memory.md).
Napi::Value AdjustExternalMemory(const Napi::CallbackInfo& info) {
  return guarded(info, "adjustExternalMemory", [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber() || !kindling::safe_integer(info[0].As<Napi::Number>().DoubleValue())) {
      throw kindling::PackedError("expected a byte count (a safe integer)", false);
    }
    const int64_t delta = info[0].As<Napi::Number>().Int64Value();
    return Napi::Number::New(info.Env(), static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(info.Env(), delta)));
  });
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  return guarded(info, "init", [&]() -> Napi::Value {
    kd::blas_single_thread();
    {
      std::lock_guard<std::mutex> lk(g_env_lock);
      if (info.Env().GetInstanceData<int>() == nullptr) {
        info.Env().SetInstanceData<int>(new int(1));
        g_envs++;
        napi_add_env_cleanup_hook(info.Env(), ReleaseEnv, nullptr);
      }
    }
    if (info.Length() < 1 || !info[0].IsNumber()) throw kindling::PackedError("threads must be a number", false);
    const double threads = info[0].As<Napi::Number>().DoubleValue();
    if (!kindling::safe_integer(threads) || threads < 1 || threads > 1024) {
      throw kindling::PackedError("threads must be an integer in [1, 1024], got " + std::to_string(threads), true);
    }
    kd::pool_init(static_cast<int>(threads));
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("threads", kd::pool_threads());
    o.Set("blas", std::string(kd::blas_config()));
    o.Set("blasCore", std::string(kd::blas_corename()));
    o.Set("avx512", kd::use_avx512());
    return o;
  });
}


// ---- kernels ----

// run(entry, block: Float64Array, count, ...arrays) → what the entry point answers (dispatch.cc).
Napi::Value Run(const Napi::CallbackInfo& info) {
  const int op = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  const kd::Entry entry = kd::entry_for(op);
  const char* name = op >= 0 && op < kd::OP_COUNT ? kd::kEntryOpNames[op] : "run";
  return guarded(info, name, [&]() -> Napi::Value {
    if (op < 0 || op >= kd::OP_COUNT || !info[0].IsNumber() || info[0].As<Napi::Number>().DoubleValue() != op) {
      throw kindling::PackedError("unknown entry point code " + (info.Length() > 0 && info[0].IsNumber() ? std::to_string(info[0].As<Napi::Number>().DoubleValue()) : std::string("(not a number)")), true);
    }
    if (!entry) throw kindling::PackedError("the cpu addon has no kernel for this entry point", true);
    if (info.Length() < 3 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      throw kindling::PackedError("the packed block must be a Float64Array", false);
    }
    auto block = info[1].As<Napi::Float64Array>();
    const double count = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
    if (!kindling::safe_integer(count) || count < 0 || count > static_cast<double>(block.ElementLength())) {
      throw kindling::PackedError("count must be an integer in [0, " + std::to_string(block.ElementLength()) + "] (the block's length)", true);
    }
    kd::Args args(info, block.Data(), static_cast<size_t>(count));
    return entry(info.Env(), args);
  });
}

}  // namespace

namespace kd {

void register_bindings(Napi::Env env, Napi::Object exports) {
  // The op names behind the codes this build was compiled with (kindling_ops.h), per family: a
  // test compares them with core's op table.
  Napi::Object names = Napi::Object::New(env);
  for (const OpFamilyNames& f : kOpFamilies) {
    Napi::Array a = Napi::Array::New(env, f.count);
    for (int i = 0; i < f.count; i++) a.Set(i, f.names[i]);
    names.Set(f.family, a);
  }
  exports.Set("opNames", names);
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("adjustExternalMemory", Napi::Function::New(env, AdjustExternalMemory));
  exports.Set("run", Napi::Function::New(env, Run));
}

}  // namespace kd
