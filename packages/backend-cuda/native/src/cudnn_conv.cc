#include "cudnn_conv.h"

#include <array>
#include <map>
#include <memory>

#include "context.h"

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

using Key = std::array<int, 17>;

Key key_of(const dnn::Geometry& g, int math) {
  return Key{{g.N, g.C, g.H, g.W, g.O, g.kh, g.kw, g.OH, g.OW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups, math}};
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

// Picks the first of cuDNN's heuristic ranking that succeeds, fits the workspace bound and, in FP32
// mode, uses FMA math only (what PyTorch asserts when allow_tf32 is off); never one that may convert
// to FP16.
void choose(CudnnState& s, Plan& p, Pass pass, int math) {
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
  p.algo[pass] = -2;
  for (int i = 0; i < n && i < 16; i++) {
    if (perf[i].status != dnn::kSuccess || perf[i].memory > kMaxWorkspace) continue;
    if (math == dnn::kFmaMath && perf[i].mathType != dnn::kFmaMath) continue;
    if (perf[i].mathType == dnn::kTensorOpAllowConversion) continue;
    // The workspace as cuDNN states it for this algorithm and math type (the heuristics' figure is
    // an estimate); a call given less fails with CUDNN_STATUS_BAD_PARAM.
    check(a, a.cudnnSetConvolutionMathType(p.d.conv, perf[i].mathType), kPassNames[pass], "cudnnSetConvolutionMathType");
    size_t ws = 0;
    if (pass == kForward)
      st = a.cudnnGetConvolutionForwardWorkspaceSize(s.handle, p.d.x, p.d.w, p.d.conv, p.d.y, perf[i].algo, &ws);
    else if (pass == kBackwardInput)
      st = a.cudnnGetConvolutionBackwardDataWorkspaceSize(s.handle, p.d.w, p.d.y, p.d.conv, p.d.x, perf[i].algo, &ws);
    else
      st = a.cudnnGetConvolutionBackwardFilterWorkspaceSize(s.handle, p.d.x, p.d.y, p.d.conv, p.d.w, perf[i].algo, &ws);
    if (st != dnn::kSuccess || ws > kMaxWorkspace) continue;
    p.algo[pass] = perf[i].algo;
    p.math[pass] = perf[i].mathType;
    p.workspace[pass] = ws > perf[i].memory ? ws : perf[i].memory;
    return;
  }
  s.passes_without_algorithm++;
}

// The plan for g and pass with its algorithm chosen, or null when our kernels should run it.
Plan* plan_for(Context& c, CudnnState*& out, const dnn::Geometry& g, bool tf32, Pass pass) {
  if (flops(g) < vendor_library_min_flops()) return nullptr;
  CudnnState* s = state(c);
  if (!s) return nullptr;
  const int math = tf32 ? dnn::kDefaultMath : dnn::kFmaMath;
  std::unique_ptr<Plan>& slot = s->plans[key_of(g, math)];
  if (!slot) {
    auto p = std::make_unique<Plan>();
    const std::string err = dnn::describe(s->a, g, math, p->d);
    if (!err.empty()) throw Error(std::string(kPassNames[pass]) + ": " + err);
    slot = std::move(p);
  }
  Plan& p = *slot;
  if (p.algo[pass] == -1) choose(*s, p, pass, math);
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
bool run(Context& c, const dnn::Geometry& g, bool tf32, Pass pass, const float* a, const float* b, float* out, const float* bias = nullptr) {
  CudnnState* s = nullptr;
  Plan* p = plan_for(c, s, g, tf32, pass);
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

bool cudnn_conv_forward(Context& c, const dnn::Geometry& g, bool tf32, const float* x, const float* w, const float* bias, float* y) {
  return run(c, g, tf32, kForward, x, w, y, bias);
}

bool cudnn_conv_backward_input(Context& c, const dnn::Geometry& g, bool tf32, const float* gy, const float* w, float* gx) {
  return run(c, g, tf32, kBackwardInput, gy, w, gx);
}

bool cudnn_conv_backward_weight(Context& c, const dnn::Geometry& g, bool tf32, const float* gy, const float* x, float* gw) {
  return run(c, g, tf32, kBackwardWeight, gy, x, gw);
}

}  // namespace kc
