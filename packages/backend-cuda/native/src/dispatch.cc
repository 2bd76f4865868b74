// The cuda addon's kernel entry points: for each code of core's KERNEL_ENTRY_POINTS, the layout
// of its packed block (read in order through Args, args.h) and the kernels it launches. src/backend.ts
// writes the same layouts.
#include "dispatch.h"

#include <string>
#include <utility>

#include "cudnn_conv.h"
#include "gemm.h"
#include "kernels.h"
#include "ops.h"

namespace kc {
namespace {

// Values the kernels divide by or index with: checked here, since a zero stride or an axis past
// the rank would fault on the host instead of raising an error.
void check_axis(int axis, const View& v) {
  if (axis < 0 || axis >= v.nd) throw Error("axis " + std::to_string(axis) + " is outside [0, " + std::to_string(v.nd) + ")", true);
}
void check_window(std::initializer_list<std::pair<int, int>> min_and_value) {
  for (const auto& mv : min_and_value) {
    if (mv.second < mv.first) throw Error("window parameter " + std::to_string(mv.second) + " is below " + std::to_string(mv.first), true);
  }
}

}  // namespace

void run_op(Context& c, int op, Args& a) {
  switch (op) {
    case OP_COPY: {
      View s = a.view(), d = a.view();
      return copy(c, s, d);
    }
    case OP_ACCUMULATE: {
      View s = a.view(), d = a.view();
      return accumulate(c, s, d);
    }
    case OP_FILL: {
      View d = a.view();
      return fill(c, d, a.num());
    }
    case OP_GATHER: {
      View x = a.view();
      int axis = a.integer();
      View idx = a.view(), out = a.view();
      check_axis(axis, x);
      return gather(c, x, axis, idx, out);
    }
    case OP_SCATTER_ADD: {
      View d = a.view();
      int axis = a.integer();
      View idx = a.view(), s = a.view();
      check_axis(axis, d);
      return scatter_add(c, d, axis, idx, s);
    }
    case OP_UNARY: {
      int u = a.integer();
      View x = a.view(), out = a.view();
      return unary(c, u, x, out);
    }
    case OP_BINARY: {
      int b = a.integer();
      Operand x = a.operand(), y = a.operand();
      View out = a.view();
      return binary(c, b, x, y, out);
    }
    case OP_WHERE: {
      View cond = a.view();
      Operand x = a.operand(), y = a.operand();
      View out = a.view();
      return where(c, cond, x, y, out);
    }
    case OP_REDUCE: {
      int r = a.integer();
      View x = a.view();
      int dims = a.integer();
      View out = a.view();
      return reduce(c, r, x, dims, out);
    }
    case OP_MATMUL: {
      View x = a.view(), y = a.view(), out = a.view();
      return matmul(c, x, y, out);
    }
    case OP_RANDOM: {
      int normal = a.integer();
      uint32_t k0 = static_cast<uint32_t>(a.num()), k1 = static_cast<uint32_t>(a.num());
      double counter = a.num();
      View out = a.view();
      return random(c, normal, k0, k1, counter, out);
    }
    case OP_CONV2D:
    case OP_CONV2D_BACKWARD_INPUT:
    case OP_CONV2D_BACKWARD_WEIGHT: {
      View v0 = a.view(), v1 = a.view(), v2 = a.view(), v3 = a.view();
      ConvParams p;
      p.sh = a.integer();
      p.sw = a.integer();
      p.ph = a.integer();
      p.pw = a.integer();
      p.dh = a.integer();
      p.dw = a.integer();
      p.groups = a.integer();
      p.tf32 = a.flag();
      p.cudnn_benchmark = a.flag();
      check_window({{1, p.sh}, {1, p.sw}, {1, p.dh}, {1, p.dw}, {0, p.ph}, {0, p.pw}});
      if (op == OP_CONV2D) return conv2d(c, v0, v1, v2, p, v3);              // x, w, bias, out
      if (op == OP_CONV2D_BACKWARD_INPUT) return conv2d_backward_input(c, v0, v1, p, v3);   // gy, w, -, gx
      return conv2d_backward_weight(c, v0, v1, p, v3);                         // gy, x, -, gw
    }
    case OP_MAX_POOL2D:
    case OP_MAX_POOL2D_BACKWARD:
    case OP_AVG_POOL2D:
    case OP_AVG_POOL2D_BACKWARD: {
      View v0 = a.view(), v1 = a.view(), v2 = a.view();
      PoolParams p;
      p.kh = a.integer();
      p.kw = a.integer();
      p.sh = a.integer();
      p.sw = a.integer();
      p.ph = a.integer();
      p.pw = a.integer();
      p.dh = a.integer();
      p.dw = a.integer();
      p.ceil_mode = a.flag();
      p.count_include_pad = a.flag();
      p.divisor = a.integer();
      check_window({{1, p.kh}, {1, p.kw}, {1, p.sh}, {1, p.sw}, {1, p.dh}, {1, p.dw}, {0, p.ph}, {0, p.pw}, {0, p.divisor}});
      if (op == OP_MAX_POOL2D) return max_pool2d(c, v0, p, v1, v2);            // x, out, indices
      if (op == OP_MAX_POOL2D_BACKWARD) return max_pool2d_backward(c, v0, v1, p, v2);  // gy, indices, gx
      if (op == OP_AVG_POOL2D) return avg_pool2d(c, v0, p, v1);                // x, out, -
      return avg_pool2d_backward(c, v0, p, v1);                             // gy, gx, -
    }
    case OP_SOFTMAX: {
      View x = a.view();
      bool log = a.flag();
      View out = a.view();
      return softmax(c, x, log, out);
    }
    case OP_SOFTMAX_BACKWARD: {
      View y = a.view(), gy = a.view();
      bool log = a.flag();
      View gx = a.view();
      return softmax_backward(c, y, gy, log, gx);
    }
    case OP_BATCH_NORM_TRAIN: {
      View x = a.view(), w = a.view(), b = a.view(), rm = a.view(), rv = a.view();
      double momentum = a.num(), eps = a.num();
      View out = a.view(), mean = a.view(), invstd = a.view();
      return batch_norm_train(c, x, w, b, rm, rv, momentum, eps, out, mean, invstd);
    }
    case OP_BATCH_NORM_BACKWARD: {
      View gy = a.view(), x = a.view(), w = a.view(), mean = a.view(), invstd = a.view(), gx = a.view(), gw = a.view(), gb = a.view();
      return batch_norm_backward(c, gy, x, w, mean, invstd, gx, gw, gb);
    }
    case OP_SGD_STEP: {
      View p = a.view(), g = a.view(), buf = a.view();
      return sgd_step(c, p, g, buf, kindling::read_sgd<float>(a));
    }
    case OP_ADAM_STEP: {
      View p = a.view(), g = a.view(), m = a.view(), v = a.view(), vmax = a.view();
      return adam_step(c, p, g, m, v, vmax, kindling::read_adam<float>(a));
    }
    case OP_ACTIVATION_BACKWARD: {
      int act = a.integer();
      View y = a.view(), gy = a.view(), gx = a.view();
      return activation_backward(c, act, y, gy, gx);
    }
    case OP_LINEAR: {
      View x = a.view(), w = a.view(), b = a.view(), out = a.view();
      return linear(c, x, w, b, out);
    }
    default:
      throw Error("unknown op code " + std::to_string(op));
  }
}

}  // namespace kc
