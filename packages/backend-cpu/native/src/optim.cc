#include "optim.h"

#include <cmath>

#include "threadpool.h"

namespace kd {
namespace {
constexpr int64_t kGrain = 1 << 16;
}

void sgd_step(float* P, const float* G, float* B, int64_t n, const SgdArgs& a) {
  const bool use_momentum = a.momentum != 0 && B != nullptr;
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi, int) {
    for (int64_t i = lo; i < hi; i++) {
      const double pv = P[i];
      double g = G[i];
      if (a.maximize) g = -g;
      if (a.weight_decay != 0) g += a.weight_decay * pv;
      if (use_momentum) {
        B[i] = static_cast<float>(a.first_step ? g : a.momentum * B[i] + (1 - a.dampening) * g);
        const double buf = B[i];
        g = a.nesterov ? g + a.momentum * buf : buf;
      }
      P[i] = static_cast<float>(pv - a.lr * g);
    }
  });
}

void adam_step(float* P, const float* G, float* M, float* V, float* X, int64_t n, const AdamArgs& a) {
  const double bc1 = 1 - std::pow(a.beta1, a.step);
  const double bc2_sqrt = std::sqrt(1 - std::pow(a.beta2, a.step));
  const double step_size = a.lr / bc1;
  const double decay = a.decoupled && a.weight_decay != 0 ? 1 - a.lr * a.weight_decay : 1;
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi, int) {
    for (int64_t i = lo; i < hi; i++) {
      double pv = P[i];
      double g = G[i];
      if (a.maximize) g = -g;
      if (a.decoupled) {
        if (decay != 1) {
          P[i] = static_cast<float>(pv * decay);
          pv = P[i];
        }
      } else if (a.weight_decay != 0) {
        g += a.weight_decay * pv;
      }
      M[i] = static_cast<float>(a.beta1 * M[i] + (1 - a.beta1) * g);
      V[i] = static_cast<float>(a.beta2 * V[i] + (1 - a.beta2) * g * g);
      double v = V[i];
      if (a.amsgrad) {
        if (v > X[i] || v != v) X[i] = static_cast<float>(v);
        v = X[i];
      }
      const double denom = std::sqrt(v) / bc2_sqrt + a.eps;
      P[i] = static_cast<float>(pv - (step_size * M[i]) / denom);
    }
  });
}

}  // namespace kd
