// Host entry points of the kernels, one group per .cu file. Each queues work on the context's
// stream and returns; views arrive as the TypeScript side packed them (src/pack.ts).
#pragma once

#include "common.h"
#include "context.h"
#include "conv_geometry.h"
#include "kindling_packed.h"

namespace kc {

// An elementwise operand: a view broadcast to the output's shape, or a scalar.
struct Operand {
  View view;
  bool scalar = false;
  double value = 0;
};

// elementwise.cu
void copy(Context& c, const View& src, const View& dst);
void accumulate(Context& c, const View& src, const View& dst);
void fill(Context& c, const View& dst, double value);
void unary(Context& c, int op, const View& x, const View& out);
void binary(Context& c, int op, const Operand& a, const Operand& b, const View& out);
void where(Context& c, const View& cond, const Operand& a, const Operand& b, const View& out);
// A contiguous float32 copy of v (v itself when it already is one); `tmp` holds the storage.
const float* contiguous_f32(Context& c, const View& v, std::unique_ptr<Temp>& tmp, const char* op);

// gather.cu
void gather(Context& c, const View& x, int axis, const View& index, const View& out);
void scatter_add(Context& c, const View& dst, int axis, const View& index, const View& src);

// reduce.cu
void reduce(Context& c, int op, const View& x, int reduce_dims, const View& out);

// random.cu
void random(Context& c, int normal, uint32_t k0, uint32_t k1, double counter, const View& out);

// matmul.cu (uses gemm.h)
void matmul(Context& c, const View& a, const View& b, const View& out);
// out [M,N] = x [M,K] · wᵀ (w [N,K]) + bias [N] (nn.Linear), contiguous float32.
void linear(Context& c, const View& x, const View& w, const View& bias, const View& out);

// activation.cu: 0 sigmoid, 1 tanh, 2 relu
void activation_backward(Context& c, int op, const View& y, const View& gy, const View& gx);

// conv.cu
struct ConvParams {
  int sh, sw, ph, pw, dh, dw, groups;
  bool tf32;  // TF32 tensor cores allowed (the backend's allowTF32)
  bool cudnn_benchmark;  // cuDNN's algorithms chosen by timing them (the backend's cudnnBenchmark)
};
void conv2d(Context& c, const View& x, const View& w, const View& bias, const ConvParams& p, const View& out);
void conv2d_backward_input(Context& c, const View& gy, const View& w, const ConvParams& p, const View& gx);
void conv2d_backward_weight(Context& c, const View& gy, const View& x, const ConvParams& p, const View& gw);

// conv_direct.cu: direct convolutions for few channels (no column buffer, no GEMM); conv.cu takes them when
// direct_conv_worth(g) says so (KINDLING_CUDA_DIRECT_CONV=0 turns them off).
bool direct_conv_worth(const ConvGeometry& g);
void conv2d_direct(Context& c, const ConvGeometry& g, const float* x, const float* w, const float* bias, float* out);
void conv2d_backward_input_direct(Context& c, const ConvGeometry& g, const float* gy, const float* w, float* gx);
void conv2d_backward_weight_direct(Context& c, const ConvGeometry& g, const float* gy, const float* x, float* gw);

// pool.cu
struct PoolParams {
  int kh, kw, sh, sw, ph, pw, dh, dw;
  bool ceil_mode, count_include_pad;
  int divisor;  // 0: none
};
void max_pool2d(Context& c, const View& x, const PoolParams& p, const View& out, const View& indices);
void max_pool2d_backward(Context& c, const View& gy, const View& indices, const PoolParams& p, const View& gx);
void avg_pool2d(Context& c, const View& x, const PoolParams& p, const View& out);
void avg_pool2d_backward(Context& c, const View& gy, const PoolParams& p, const View& gx);

// softmax.cu
void softmax(Context& c, const View& x, bool log, const View& out);
void softmax_backward(Context& c, const View& y, const View& gy, bool log, const View& gx);

// batchnorm.cu
void batch_norm_train(Context& c, const View& x, const View& w, const View& b, const View& rm, const View& rv, double momentum,
                      double eps, const View& out, const View& mean, const View& invstd);
void batch_norm_backward(Context& c, const View& gy, const View& x, const View& w, const View& mean, const View& invstd,
                         const View& gx, const View& gw, const View& gb);

// optim.cu
using SgdOptions = kindling::SgdHyper<float>;
void sgd_step(Context& c, const View& p, const View& g, const View& buf, const SgdOptions& o);
using AdamOptions = kindling::AdamHyper<float>;
void adam_step(Context& c, const View& p, const View& g, const View& m, const View& v, const View& vmax, const AdamOptions& o);

}  // namespace kc

namespace kc {

// A float32 output written through a dense buffer: the view itself when it is contiguous, else a
// temporary copied into the view by commit(). With read_first the temporary starts as the view's
// current values (in-place updates such as running statistics).
class OutF32 {
 public:
  OutF32(Context& c, const View& v, bool read_first, const char* op) : c_(c), v_(v) {
    if (!v.present()) return;
    if (v.dtype != F32) throw Error(std::string(op) + ": expected a float32 output");
    if (v.contiguous()) {
      ptr = v.data<float>();
      return;
    }
    if (read_first) {
      ptr = const_cast<float*>(contiguous_f32(c, v, tmp_, op));
    } else {
      tmp_ = std::make_unique<Temp>(c, static_cast<size_t>(v.numel()) * 4);
      ptr = tmp_->as<float>();
    }
  }
  void commit() {
    if (!tmp_) return;
    copy(c_, v_.dense_at(tmp_->as<void>(), F32), v_);
  }
  float* ptr = nullptr;

 private:
  Context& c_;
  View v_;
  std::unique_ptr<Temp> tmp_;
};

}  // namespace kc
