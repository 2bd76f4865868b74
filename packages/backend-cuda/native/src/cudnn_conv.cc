#include "cudnn_conv.h"

#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "context.h"
#include "kindling_flags.h"

namespace kc {

namespace {

enum Pass { kForward = 0, kBackwardInput = 1, kBackwardWeight = 2 };
const char* const kPassNames[] = {"conv2d", "conv2dBackwardInput", "conv2dBackwardWeight"};

// A workspace larger than this is passed over for the next algorithm (PyTorch caps by free memory;
// a fixed bound keeps one convolution from evicting the allocator's cache).
constexpr size_t kMaxWorkspace = size_t(1) << 30;

// One geometry's descriptors and, per pass, the algorithm chosen for it (-1: not chosen yet,
// -2: cuDNN offered none, so our kernels run that pass).
struct Plan {
  dnn::Descriptors d;
  std::array<int, 3> algo{{-1, -1, -1}};
  std::array<int, 3> math{{0, 0, 0}};
  std::array<size_t, 3> workspace{{0, 0, 0}};
};

using Key = std::array<int, 18>;

Key key_of(const dnn::Geometry& g, int math, bool benchmark) {
  return Key{{g.N, g.C, g.H, g.W, g.O, g.kh, g.kw, g.OH, g.OW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups, math, benchmark ? 1 : 0}};
}

double flops(const dnn::Geometry& g) {
  return 2.0 * g.N * g.O * static_cast<double>(g.OH) * g.OW * (g.C / g.groups) * g.kh * g.kw;
}

}  // namespace

class CudnnState {
 public:
  explicit CudnnState(const dnn::Api& a) : a(a) {}
  ~CudnnState() {
    plans.clear();
    if (handle) a.cudnnDestroy(handle);
  }
  const dnn::Api& a;
  dnn::Handle handle = nullptr;
  std::string failed;  // why this context cannot use cuDNN (its handle could not be made)
  int passes_without_algorithm = 0;  // passes cuDNN offered no acceptable algorithm for (ours ran them)
  std::map<Key, std::unique_ptr<Plan>> plans;
};

void cudnn_state_destroy(CudnnState* s) { delete s; }

std::string cudnn_conv_status(const Context& c) {
  const CudnnState* s = c.cudnn();
  if (s && !s->failed.empty()) return "own im2col kernels (" + s->failed + ")";
  if (s && s->passes_without_algorithm > 0)
    return dnn::status() + "; " + std::to_string(s->passes_without_algorithm) + " convolution pass(es) had no acceptable cuDNN algorithm and ran on our kernels";
  return dnn::status();
}

namespace {

void check(const dnn::Api& a, int status, const char* pass, const char* call) {
  if (status != dnn::kSuccess) throw Error(std::string(pass) + ": " + dnn::error_text(a, call, status));
}

// The context's state with a live handle bound to its stream, or null when cuDNN cannot serve it.
CudnnState* state(Context& c) {
  const dnn::Api* a = dnn::api();
  if (!a) return nullptr;
  CudnnState*& s = c.cudnn();
  if (!s) {
    s = new CudnnState(*a);
    dnn::Handle h = nullptr;
    int st = a->cudnnCreate(&h);
    if (st != dnn::kSuccess) {
      s->failed = dnn::error_text(*a, "cudnnCreate", st);
    } else if ((st = a->cudnnSetStream(h, c.stream())) != dnn::kSuccess) {
      // A handle left on the default stream would race our stream: never use it.
      a->cudnnDestroy(h);
      s->failed = dnn::error_text(*a, "cudnnSetStream", st);
    } else {
      s->handle = h;
    }
  }
  return s->handle ? s : nullptr;
}

// The operands of one pass, as its cuDNN call takes them: a and b are read, out is written.
struct Operands {
  const void* a;
  const void* b;
  void* out;
};

// One algorithm cuDNN may run for a pass, with the math type and workspace it needs.
struct Candidate {
  int algo, math;
  size_t workspace;
};

int workspace_size(CudnnState& s, Plan& p, Pass pass, int algo, size_t& ws) {
  const dnn::Api& a = s.a;
  if (pass == kForward) return a.cudnnGetConvolutionForwardWorkspaceSize(s.handle, p.d.x, p.d.w, p.d.conv, p.d.y, algo, &ws);
  if (pass == kBackwardInput) return a.cudnnGetConvolutionBackwardDataWorkspaceSize(s.handle, p.d.w, p.d.y, p.d.conv, p.d.x, algo, &ws);
  return a.cudnnGetConvolutionBackwardFilterWorkspaceSize(s.handle, p.d.x, p.d.y, p.d.conv, p.d.w, algo, &ws);
}

// WINOGRAD_NONFUSED, whose number differs per pass (cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t).
bool winograd_nonfused(Pass pass, int algo) { return algo == (pass == kForward ? 7 : 5); }

// cuDNN's heuristic ranking, best first, of the algorithms we accept: those that succeed and fit the
// workspace bound, in FP32 mode FMA math only (what PyTorch asserts when allow_tf32 is off), never
// one that may convert to FP16, and no non-fused Winograd for filters past 3x3. Measured on an H200
// (cuda-check --precision, cuDNN 9.19) against cpu's FP32, as ‖Δ‖/‖y‖: FFT and FFT_TILING 3e-7 to
// 4e-7, as the GEMM-based ones; WINOGRAD_NONFUSED 4e-6 for 3x3, FP32-class; but 1.5e-3 for the weight
// gradient of a 5x5 (AlexNet's second convolution), worse than TF32 (3e-4), though cuDNN calls it
// FMA math and its heuristics rank it first there.
std::vector<Candidate> ranked(CudnnState& s, Plan& p, const dnn::Geometry& g, Pass pass, int math) {
  const dnn::Api& a = s.a;
  dnn::AlgoPerf perf[16];
  int n = 0;
  // The ranking depends on the descriptor's math type, which the last pass run may have changed.
  check(a, a.cudnnSetConvolutionMathType(p.d.conv, math), kPassNames[pass], "cudnnSetConvolutionMathType");
  int st = dnn::kSuccess;
  if (pass == kForward)
    st = a.cudnnGetConvolutionForwardAlgorithm_v7(s.handle, p.d.x, p.d.w, p.d.conv, p.d.y, 16, &n, perf);
  else if (pass == kBackwardInput)
    st = a.cudnnGetConvolutionBackwardDataAlgorithm_v7(s.handle, p.d.w, p.d.y, p.d.conv, p.d.x, 16, &n, perf);
  else
    st = a.cudnnGetConvolutionBackwardFilterAlgorithm_v7(s.handle, p.d.x, p.d.y, p.d.conv, p.d.w, 16, &n, perf);
  static const char* const kHeuristics[] = {"cudnnGetConvolutionForwardAlgorithm_v7", "cudnnGetConvolutionBackwardDataAlgorithm_v7",
                                            "cudnnGetConvolutionBackwardFilterAlgorithm_v7"};
  check(a, st, kPassNames[pass], kHeuristics[pass]);
  std::vector<Candidate> out;
  for (int i = 0; i < n && i < 16; i++) {
    if (perf[i].status != dnn::kSuccess || perf[i].memory > kMaxWorkspace) continue;
    if (math == dnn::kFmaMath && perf[i].mathType != dnn::kFmaMath) continue;
    if (perf[i].mathType == dnn::kTensorOpAllowConversion) continue;
    if (winograd_nonfused(pass, perf[i].algo) && (g.kh > 3 || g.kw > 3)) continue;
    // The workspace as cuDNN states it for this algorithm and math type (the heuristics' figure is
    // an estimate); a call given less fails with CUDNN_STATUS_BAD_PARAM.
    check(a, a.cudnnSetConvolutionMathType(p.d.conv, perf[i].mathType), kPassNames[pass], "cudnnSetConvolutionMathType");
    size_t ws = 0;
    if (workspace_size(s, p, pass, perf[i].algo, ws) != dnn::kSuccess || ws > kMaxWorkspace) continue;
    out.push_back(Candidate{perf[i].algo, perf[i].mathType, ws > perf[i].memory ? ws : perf[i].memory});
  }
  return out;
}

// Times the candidates on the pass's own operands (cudnnFind…AlgorithmEx, which waits for the
// stream) and returns the fastest, or the heuristics' first when the search fails. The output is
// overwritten by the run that follows, and the inputs are only read.
Candidate fastest(Context& c, CudnnState& s, Plan& p, Pass pass, int math, const std::vector<Candidate>& cands, const Operands& o, float& ms) {
  const dnn::Api& a = s.a;
  size_t bytes = 0;
  for (const Candidate& k : cands) bytes = k.workspace > bytes ? k.workspace : bytes;
  // The search wants the largest candidate's workspace; where the device cannot spare it, the
  // heuristics' choice stands (and the cache the failed attempt emptied is simply refilled).
  std::unique_ptr<Temp> held;
  try {
    held = std::make_unique<Temp>(c, bytes);
  } catch (const Error&) {
    ms = -1;
    return cands.front();
  }
  const Temp& ws = *held;
  dnn::AlgoPerf perf[16];
  int n = 0, st;
  a.cudnnSetConvolutionMathType(p.d.conv, math);
  if (pass == kForward)
    st = a.cudnnFindConvolutionForwardAlgorithmEx(s.handle, p.d.x, o.a, p.d.w, o.b, p.d.conv, p.d.y, o.out, 16, &n, perf, ws.as<void>(), bytes);
  else if (pass == kBackwardInput)
    st = a.cudnnFindConvolutionBackwardDataAlgorithmEx(s.handle, p.d.w, o.b, p.d.y, o.a, p.d.conv, p.d.x, o.out, 16, &n, perf, ws.as<void>(), bytes);
  else
    st = a.cudnnFindConvolutionBackwardFilterAlgorithmEx(s.handle, p.d.x, o.b, p.d.y, o.a, p.d.conv, p.d.w, o.out, 16, &n, perf, ws.as<void>(), bytes);
  // Results come fastest first; take the first that is one of our candidates (same algorithm and
  // math type, so the workspace we sized for it holds).
  for (int i = 0; st == dnn::kSuccess && i < n && i < 16; i++) {
    if (perf[i].status != dnn::kSuccess) continue;
    for (const Candidate& k : cands) {
      if (k.algo != perf[i].algo || k.math != perf[i].mathType) continue;
      ms = perf[i].time;
      return k;
    }
  }
  ms = -1;
  return cands.front();
}

const char* algo_name(Pass pass, int algo) {
  static const char* const kFwd[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  static const char* const kData[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  static const char* const kFilter[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
  if (pass == kForward) return algo >= 0 && algo < 8 ? kFwd[algo] : "?";
  if (pass == kBackwardInput) return algo >= 0 && algo < 6 ? kData[algo] : "?";
  return algo >= 0 && algo < 7 ? kFilter[algo] : "?";
}

// Chooses the pass's algorithm: the fastest of the candidates when benchmarking (as
// torch.backends.cudnn.benchmark = True), else the heuristics' first. KINDLING_CUDA_CUDNN_LOG=1 writes each
// choice to stderr.
void choose(Context& c, CudnnState& s, Plan& p, const dnn::Geometry& g, Pass pass, int math, bool benchmark, const Operands& o) {
  const std::vector<Candidate> cands = ranked(s, p, g, pass, math);
  p.algo[pass] = -2;
  if (cands.empty()) {
    s.passes_without_algorithm++;
    return;
  }
  float ms = -1;
  const Candidate k = benchmark && cands.size() > 1 ? fastest(c, s, p, pass, math, cands, o, ms) : cands.front();
  p.algo[pass] = k.algo;
  p.math[pass] = k.math;
  p.workspace[pass] = k.workspace;
  static const bool log = kindling::flag_bool("KINDLING_CUDA_CUDNN_LOG", false);
  if (log)
    std::fprintf(stderr, "cudnn: %s N%d C%d %dx%d -> O%d k%dx%d s%d,%d p%d,%d d%d,%d g%d: %s (math %d, workspace %zu B%s%s)\n", kPassNames[pass], g.N,
                 g.C, g.H, g.W, g.O, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups, algo_name(pass, k.algo), k.math, k.workspace,
                 benchmark ? (ms >= 0 ? ", fastest measured" : ", heuristics' first: search failed or one candidate") : ", heuristics' first",
                 (ms >= 0 ? (", " + std::to_string(ms) + " ms").c_str() : ""));
}

// The plan for g and pass with its algorithm chosen, or null when our kernels should run it.
Plan* plan_for(Context& c, CudnnState*& out, const dnn::Geometry& g, bool tf32, bool benchmark, Pass pass, const Operands& o) {
  if (flops(g) < vendor_library_min_flops()) return nullptr;
  CudnnState* s = state(c);
  if (!s) return nullptr;
  const int math = tf32 ? dnn::kDefaultMath : dnn::kFmaMath;
  std::unique_ptr<Plan>& slot = s->plans[key_of(g, math, benchmark)];
  if (!slot) {
    auto p = std::make_unique<Plan>();
    const std::string err = dnn::describe(s->a, g, math, p->d);
    if (!err.empty()) throw Error(std::string(kPassNames[pass]) + ": " + err);
    slot = std::move(p);
  }
  Plan& p = *slot;
  if (p.algo[pass] == -1) choose(c, *s, p, g, pass, math, benchmark, o);
  if (p.algo[pass] < 0) return nullptr;
  // The descriptor is shared by the three passes; each runs with the math type of its algorithm.
  check(s->a, s->a.cudnnSetConvolutionMathType(p.d.conv, p.math[pass]), kPassNames[pass], "cudnnSetConvolutionMathType");
  out = s;
  return &p;
}

}  // namespace

namespace {

// Runs one pass with operands (a, b) into out: forward (x, w → y, then + bias when given), input
// gradient (gy, w → gx), weight gradient (gy, x → gw). Returns false, having done nothing, when our
// kernels should run it.
bool run(Context& c, const dnn::Geometry& g, const CudnnMode& m, Pass pass, const float* a, const float* b, float* out, const float* bias = nullptr) {
  CudnnState* s = nullptr;
  Plan* p = plan_for(c, s, g, m.tf32, m.benchmark, pass, Operands{a, b, out});
  if (!p) return false;
  const dnn::Api& api = s->a;
  const dnn::Descriptors& d = p->d;
  const float one = 1.f, zero = 0.f;
  const size_t bytes = p->workspace[pass];
  Temp ws(c, bytes);
  static const char* const kCalls[] = {"cudnnConvolutionForward", "cudnnConvolutionBackwardData", "cudnnConvolutionBackwardFilter"};
  int st;
  if (pass == kForward)
    st = api.cudnnConvolutionForward(s->handle, &one, d.x, a, d.w, b, d.conv, p->algo[pass], ws.as<void>(), bytes, &zero, d.y, out);
  else if (pass == kBackwardInput)
    st = api.cudnnConvolutionBackwardData(s->handle, &one, d.w, b, d.y, a, d.conv, p->algo[pass], ws.as<void>(), bytes, &zero, d.x, out);
  else
    st = api.cudnnConvolutionBackwardFilter(s->handle, &one, d.x, b, d.y, a, d.conv, p->algo[pass], ws.as<void>(), bytes, &zero, d.w, out);
  check(api, st, kPassNames[pass], kCalls[pass]);
  if (bias) check(api, api.cudnnAddTensor(s->handle, &one, d.bias, bias, &one, d.y, out), kPassNames[pass], "cudnnAddTensor");
  return true;
}

}  // namespace

bool cudnn_conv_forward(Context& c, const dnn::Geometry& g, const CudnnMode& m, const float* x, const float* w, const float* bias, float* y) {
  return run(c, g, m, kForward, x, w, y, bias);
}

bool cudnn_conv_backward_input(Context& c, const dnn::Geometry& g, const CudnnMode& m, const float* gy, const float* w, float* gx) {
  return run(c, g, m, kBackwardInput, gy, w, gx);
}

bool cudnn_conv_backward_weight(Context& c, const dnn::Geometry& g, const CudnnMode& m, const float* gy, const float* x, float* gw) {
  return run(c, g, m, kBackwardWeight, gy, x, gw);
}

}  // namespace kc
