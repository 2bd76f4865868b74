// torch.gather and scatter_add_ along one axis. The index walk runs over index's shape; the indexed
// operand is walked with stride 0 on the axis and offset by index·stride. A bad index cannot throw
// on the device: it sets the context's error word, which the next read or sync reports.
#include "kernels.h"
#include "strided.cuh"

namespace kc {
namespace {

template <typename C>
__global__ void gather_kernel(Indexer<3> ix, int n, const int* index, const void* x, int xdt, int size, int step, void* out, int odt,
                              int* err) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[3];
    index_offsets(ix, i, o);
    const int k = index[o[0]];
    if (k < 0 || k >= size) {
      atomicExch(err, DEV_GATHER_INDEX);
      continue;
    }
    store_as<C>(out, odt, o[2], load_as<C>(x, xdt, o[1] + k * step));
  }
}

template <typename C>
__global__ void scatter_add_kernel(Indexer<3> ix, int n, const int* index, const void* src, int sdt, int size, int step, C* dst,
                                   int* err) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[3];
    index_offsets(ix, i, o);
    const int k = index[o[0]];
    if (k < 0 || k >= size) {
      atomicExch(err, DEV_SCATTER_INDEX);
      continue;
    }
    atomicAdd(dst + o[2] + k * step, load_as<C>(src, sdt, o[1]));
  }
}

}  // namespace

void gather(Context& c, const View& x, int axis, const View& index, const View& out) {
  if (index.dtype != I32) throw Error("gather: index must be int32");
  const int n = checked_numel(index, "gather");
  if (n == 0) return;
  int64_t xs[kMaxDims];
  for (int d = 0; d < x.nd; d++) xs[d] = d == axis ? 0 : x.strides[d];
  const int64_t* st[3] = {index.strides, xs, out.strides};
  const int64_t of[3] = {index.offset, x.offset, out.offset};
  auto ix = make_indexer<3>(index.nd, index.shape, st, of);
  const int size = static_cast<int>(x.shape[axis]), step = static_cast<int>(x.strides[axis]);
  const int* idx = static_cast<const int*>(index.ptr);
  if (x.dtype == F32) gather_kernel<float><<<grid_for(n), 256, 0, c.stream()>>>(ix, n, idx, x.ptr, x.dtype, size, step, out.ptr, out.dtype, c.device_error_word());
  else gather_kernel<int><<<grid_for(n), 256, 0, c.stream()>>>(ix, n, idx, x.ptr, x.dtype, size, step, out.ptr, out.dtype, c.device_error_word());
}

void scatter_add(Context& c, const View& dst, int axis, const View& index, const View& src) {
  if (index.dtype != I32) throw Error("scatterAdd: index must be int32");
  const int n = checked_numel(index, "scatterAdd");
  if (n == 0) return;
  int64_t ds[kMaxDims];
  for (int d = 0; d < dst.nd; d++) ds[d] = d == axis ? 0 : dst.strides[d];
  const int64_t* st[3] = {index.strides, src.strides, ds};
  const int64_t of[3] = {index.offset, src.offset, dst.offset};
  auto ix = make_indexer<3>(index.nd, index.shape, st, of);
  const int size = static_cast<int>(dst.shape[axis]), step = static_cast<int>(dst.strides[axis]);
  const int* idx = static_cast<const int*>(index.ptr);
  if (dst.dtype == F32)
    scatter_add_kernel<float><<<grid_for(n), 256, 0, c.stream()>>>(ix, n, idx, src.ptr, src.dtype, size, step, static_cast<float*>(dst.ptr), c.device_error_word());
  else if (dst.dtype == I32)
    scatter_add_kernel<int><<<grid_for(n), 256, 0, c.stream()>>>(ix, n, idx, src.ptr, src.dtype, size, step, static_cast<int*>(dst.ptr), c.device_error_word());
  else throw Error("scatterAdd: a bool destination is not supported on cuda");
}

}  // namespace kc
