// Checks native/src/cudnn_api.{h,cc} against a real cuDNN without a GPU:
//  - at compile time, every declared entry point against cudnn.h (parameter count, types, and
//    enums passed as int), the enum values and the layout of the algorithm-result structs;
//  - at run time, that our loader resolves every entry point from the library given as argv[1],
//    and that describe() builds descriptors that cuDNN reads back as the geometry we meant
//    (cuDNN's descriptor calls are host-only), including its output-size check;
//  - that creating a handle fails with a readable error when there is no GPU (argv[2] = "no-gpu").
// Built and run by test/vendor-host.test.ts where cuDNN's headers and libraries can be found.
#include <cudnn.h>

#include <cstddef>
#include <cstdio>
#include <string>

#include "abi_check.h"
#include "cudnn_api.h"

namespace dnn = kc::dnn;

// --- compile-time checks ---------------------------------------------------------------------

static_assert(CUDNN_STATUS_SUCCESS == dnn::kSuccess, "cudnnStatus_t");
static_assert(CUDNN_DATA_FLOAT == dnn::kFloat, "cudnnDataType_t");
static_assert(CUDNN_TENSOR_NCHW == dnn::kNchw, "cudnnTensorFormat_t");
static_assert(CUDNN_CROSS_CORRELATION == dnn::kCrossCorrelation, "cudnnConvolutionMode_t");
static_assert(CUDNN_DEFAULT_MATH == dnn::kDefaultMath && CUDNN_FMA_MATH == dnn::kFmaMath &&
                  CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION == dnn::kTensorOpAllowConversion,
              "cudnnMathType_t");

template <class Real>
constexpr bool same_layout() {
  return sizeof(Real) == sizeof(dnn::AlgoPerf) && offsetof(Real, algo) == offsetof(dnn::AlgoPerf, algo) &&
         offsetof(Real, status) == offsetof(dnn::AlgoPerf, status) && offsetof(Real, time) == offsetof(dnn::AlgoPerf, time) &&
         offsetof(Real, memory) == offsetof(dnn::AlgoPerf, memory) && offsetof(Real, determinism) == offsetof(dnn::AlgoPerf, determinism) &&
         offsetof(Real, mathType) == offsetof(dnn::AlgoPerf, mathType) && sizeof(Real::algo) == sizeof(int) &&
         sizeof(Real::status) == sizeof(int) && sizeof(Real::determinism) == sizeof(int) && sizeof(Real::mathType) == sizeof(int);
}
static_assert(same_layout<cudnnConvolutionFwdAlgoPerf_t>(), "cudnnConvolutionFwdAlgoPerf_t");
static_assert(same_layout<cudnnConvolutionBwdDataAlgoPerf_t>(), "cudnnConvolutionBwdDataAlgoPerf_t");
static_assert(same_layout<cudnnConvolutionBwdFilterAlgoPerf_t>(), "cudnnConvolutionBwdFilterAlgoPerf_t");

// The three algorithm-result structs that AlgoPerf stands for (layouts asserted above).
template <>
struct param_twin<cudnnConvolutionFwdAlgoPerf_t*, dnn::AlgoPerf*> : std::true_type {};
template <>
struct param_twin<cudnnConvolutionBwdDataAlgoPerf_t*, dnn::AlgoPerf*> : std::true_type {};
template <>
struct param_twin<cudnnConvolutionBwdFilterAlgoPerf_t*, dnn::AlgoPerf*> : std::true_type {};

namespace dnn_check {
using namespace kc::dnn;
KC_CUDNN_ENTRY_POINTS(KC_CHECK_ENTRY)
}  // namespace dnn_check

// --- run-time checks -------------------------------------------------------------------------

static int failures = 0;
static void expect(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok" : "FAIL", what.c_str());
  if (!ok) failures++;
}

static int out_size(int in, int k, int s, int p, int d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

static dnn::Geometry geometry(int N, int C, int H, int W, int O, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups) {
  return dnn::Geometry{N, C, H, W, O, kh, kw, out_size(H, kh, sh, ph, dh), out_size(W, kw, sw, pw, dw), sh, sw, ph, pw, dh, dw, groups};
}

int main(int argc, char** argv) {
  dnn::Api a;
  std::string status;
  const bool loaded = dnn::load(argc > 1 ? argv[1] : nullptr, a, status);
  std::printf("status: %s\n", status.c_str());
  expect(loaded, "loads and resolves every entry point");
  if (!loaded) return 1;
  expect(a.version >= 8000, "version " + std::to_string(a.version));

  const dnn::Geometry cases[] = {
      geometry(128, 1, 224, 224, 96, 11, 11, 4, 4, 1, 1, 1, 1, 1),   // AlexNet conv1 (d2l)
      geometry(128, 96, 26, 26, 256, 5, 5, 1, 1, 2, 2, 1, 1, 1),     // AlexNet conv2
      geometry(256, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1),       // LeNet conv2
      geometry(2, 4, 9, 11, 6, 3, 5, 1, 2, 1, 0, 2, 1, 2),           // rectangular, dilated, grouped
  };
  for (const dnn::Geometry& g : cases) {
    const std::string name = "[" + std::to_string(g.N) + "," + std::to_string(g.C) + "," + std::to_string(g.H) + "," + std::to_string(g.W) +
                             "] * [" + std::to_string(g.O) + "," + std::to_string(g.C / g.groups) + "," + std::to_string(g.kh) + "," +
                             std::to_string(g.kw) + "] groups " + std::to_string(g.groups);
    for (int math : {dnn::kFmaMath, dnn::kDefaultMath}) {
      dnn::Descriptors d;
      const std::string err = dnn::describe(a, g, math, d);
      expect(err.empty(), "describe " + name + (err.empty() ? "" : ": " + err));
      if (!err.empty()) continue;
      int dt, n, c, h, w, ns, cs, hs, ws;
      a.cudnnGetTensor4dDescriptor(d.x, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws);
      expect(dt == dnn::kFloat && n == g.N && c == g.C && h == g.H && w == g.W && ws == 1 && hs == g.W && cs == g.H * g.W &&
                 ns == g.C * g.H * g.W,
             "  input descriptor is dense NCHW float32");
      a.cudnnGetTensor4dDescriptor(d.y, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws);
      expect(n == g.N && c == g.O && h == g.OH && w == g.OW && ns == g.O * g.OH * g.OW, "  output descriptor is [N, O, OH, OW]");
      a.cudnnGetTensor4dDescriptor(d.bias, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws);
      expect(n == 1 && c == g.O && h == 1 && w == 1, "  bias descriptor is [1, O, 1, 1]");
    }
  }
  // A geometry whose output size is wrong must be refused, naming both sizes.
  dnn::Geometry bad = cases[0];
  bad.OH += 1;
  dnn::Descriptors d;
  const std::string err = dnn::describe(a, bad, dnn::kFmaMath, d);
  expect(err.find("[128, 96, 54, 54] where ours is [128, 96, 55, 54]") != std::string::npos, "a wrong output size is refused: " + err);

  dnn::Handle h = nullptr;
  const int s = a.cudnnCreate(&h);
  if (argc > 2 && std::string(argv[2]) == "no-gpu") {
    expect(s != dnn::kSuccess, "cudnnCreate fails without a GPU: " + dnn::error_text(a, "cudnnCreate", s));
  } else if (s == dnn::kSuccess) {
    a.cudnnDestroy(h);
  }
  std::printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
