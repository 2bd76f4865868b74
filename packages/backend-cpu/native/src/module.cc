// The module entry: checks the CPU and registers one ISA level's bindings.
//
// Every kernel source is compiled once per level (CMakeLists.txt): `baseline` for any x86-64 CPU
// (SSE2; the AVX2-only kernels are left out and convolutions take im2col + OpenBLAS), and `avx2`
// (AVX2/FMA/F16C, plus AVX-512 variants of a few kernels, used only at the `avx512` level). The
// level's namespace kd is renamed to kd_base / kd_avx2, so both sets live in this one .node. This
// file is compiled for baseline x86-64: nothing here can fault on an old CPU, and a level runs
// only after __builtin_cpu_supports (which checks the OS's XSAVE state too) said the CPU has it.
//
// Exports before select(): cpu (the features checked), supported (levels this CPU can run, best
// last) and select(level), which adds the level's kernels to the exports and returns them.
#include <napi.h>

#include <mutex>
#include <string>

namespace kd_base {
void register_bindings(Napi::Env env, Napi::Object exports);
void set_avx512(bool on);
}  // namespace kd_base
namespace kd_avx2 {
void register_bindings(Napi::Env env, Napi::Object exports);
void set_avx512(bool on);
}  // namespace kd_avx2

namespace {

struct Cpu {
  bool avx2, fma, f16c, avx512f, avx512bw, avx512dq, avx512vl;
};

Cpu cpu() {
  __builtin_cpu_init();
  return Cpu{__builtin_cpu_supports("avx2") != 0,     __builtin_cpu_supports("fma") != 0,
             __builtin_cpu_supports("f16c") != 0,     __builtin_cpu_supports("avx512f") != 0,
             __builtin_cpu_supports("avx512bw") != 0, __builtin_cpu_supports("avx512dq") != 0,
             __builtin_cpu_supports("avx512vl") != 0};
}

bool has_avx2(const Cpu& c) { return c.avx2 && c.fma && c.f16c; }
bool has_avx512(const Cpu& c) { return has_avx2(c) && c.avx512f && c.avx512bw && c.avx512dq && c.avx512vl; }

// The features a level needs that this CPU lacks ("" when it can run it).
std::string missing(const Cpu& c, const std::string& level) {
  std::string m;
  auto need = [&](bool ok, const char* name) {
    if (!ok) m += (m.empty() ? "" : ", ") + std::string(name);
  };
  if (level == "avx2" || level == "avx512") {
    need(c.avx2, "AVX2");
    need(c.fma, "FMA");
    need(c.f16c, "F16C");
  }
  if (level == "avx512") {
    need(c.avx512f, "AVX-512F");
    need(c.avx512bw, "AVX-512BW");
    need(c.avx512dq, "AVX-512DQ");
    need(c.avx512vl, "AVX-512VL");
  }
  return m;
}

Napi::Value Select(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string level = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (level != "baseline" && level != "avx2" && level != "avx512") {
    Napi::TypeError::New(env, "kindling_cpu select: unknown ISA level '" + level + "' (baseline, avx2 or avx512)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const Cpu c = cpu();
  const std::string lacks = missing(c, level);
  if (!lacks.empty()) {
    Napi::Error::New(env, "kindling_cpu select: ISA level '" + level + "' needs " + lacks + ", which this CPU (or OS) lacks").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // One level per process: each has its own thread pool, and two would oversubscribe the cores.
  static std::mutex lock;
  static std::string chosen;
  {
    std::lock_guard<std::mutex> lk(lock);
    if (chosen.empty()) chosen = level;
    if (chosen != level) {
      Napi::Error::New(env, "kindling_cpu select: this process already runs ISA level '" + chosen + "', not '" + level + "'").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  Napi::Object exports = info.This().As<Napi::Object>();
  if (level == "baseline") {
    kd_base::set_avx512(false);
    kd_base::register_bindings(env, exports);
    exports.Set("isa", "x86-64 baseline (SSE2)");
  } else {
    kd_avx2::set_avx512(level == "avx512");
    kd_avx2::register_bindings(env, exports);
    exports.Set("isa", level == "avx512" ? "AVX2/FMA + AVX-512" : "AVX2/FMA");
  }
  exports.Set("level", level);
  return exports;
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  const Cpu c = cpu();
  Napi::Object f = Napi::Object::New(env);
  f.Set("avx2", c.avx2);
  f.Set("fma", c.fma);
  f.Set("f16c", c.f16c);
  f.Set("avx512f", c.avx512f);
  f.Set("avx512bw", c.avx512bw);
  f.Set("avx512dq", c.avx512dq);
  f.Set("avx512vl", c.avx512vl);
  exports.Set("cpu", f);
  Napi::Array supported = Napi::Array::New(env);
  uint32_t n = 0;
  supported.Set(n++, "baseline");
  if (has_avx2(c)) supported.Set(n++, "avx2");
  if (has_avx512(c)) supported.Set(n++, "avx512");
  exports.Set("supported", supported);
  exports.Set("select", Napi::Function::New(env, Select));
  return exports;
}

}  // namespace

NODE_API_MODULE(kindling_cpu, Module)
