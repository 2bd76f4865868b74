// The CUDA emulator's runtime (see include/cuda_runtime.h): launches, barriers and shuffles on
// fibers, and the runtime API over host memory. Everything a stream would queue runs at once, in
// order, so events and synchronisation are no-ops. Launches come from one thread (Node's), so the
// running block and thread are plain globals (thread_local costs a call per access in an addon).
#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "cuda_runtime.h"
#include "kindling_flags.h"

namespace emu {

ThreadState* current = nullptr;
uint3 block_idx{0, 0, 0};
dim3 block_dim, grid_dim;

namespace {

cudaError_t last_error = cudaSuccess;

enum class FiberState { kReady, kWaitBlock, kWaitWarp, kDone };

// One thread of the block in flight.
struct Fiber {
  ThreadState ts;
  FiberState state = FiberState::kReady;
  int warp = 0;
};

// What runs thread slot i of every block: a stack, started once through a ucontext (makecontext
// gives it the stack), then switched with _setjmp/_longjmp, which make no system call. A worker
// loops: it runs its thread of a block, and when that thread ends it waits for the next block's.
struct Worker {
  char* stack = nullptr;
  ucontext_t ctx;
  jmp_buf jb;
  bool started = false;
};

// One block in flight: its threads as fibers, the barrier counts, and the shuffle slots.
struct Block {
  std::vector<Fiber> fibers;
  jmp_buf scheduler;
  int live = 0, at_block = 0;
  std::vector<int> warp_live, warp_at;
  std::vector<uint64_t> slots;
  void (*body)(void*) = nullptr;
  void* arg = nullptr;
  int running = -1;
};

Block* block = nullptr;
constexpr size_t kStackBytes = 128 << 10;
std::vector<Worker> workers;

// Makes the threads waiting at a barrier ready: the whole block's (warp < 0) or one warp's.
void release(Block& b, FiberState waiting, int warp) {
  const int n = static_cast<int>(b.fibers.size());
  const int lo = warp < 0 ? 0 : warp * 32, hi = warp < 0 ? n : std::min(n, lo + 32);
  for (int i = lo; i < hi; i++)
    if (b.fibers[i].state == waiting) b.fibers[i].state = FiberState::kReady;
}

// Releases the block's or the warp's barrier once every live thread is at it (also when a thread
// that others wait for exits instead).
void release_if_complete(Block& b, int warp) {
  if (b.at_block > 0 && b.at_block == b.live) {
    b.at_block = 0;
    release(b, FiberState::kWaitBlock, -1);
  }
  if (b.warp_at[warp] > 0 && b.warp_at[warp] == b.warp_live[warp]) {
    b.warp_at[warp] = 0;
    release(b, FiberState::kWaitWarp, warp);
  }
}

void yield() {
  Block& b = *block;
  if (!_setjmp(workers[b.running].jb)) _longjmp(b.scheduler, 1);
}

void worker_loop() {
  for (;;) {
    Block& b = *block;  // the block in flight, read anew for each thread this worker runs
    const int i = b.running;
    b.body(b.arg);
    Fiber& f = b.fibers[i];
    f.state = FiberState::kDone;
    b.live--;
    b.warp_live[f.warp]--;
    release_if_complete(b, f.warp);
    yield();
  }
}

void warp_barrier() {
  Block& b = *block;
  Fiber& f = b.fibers[b.running];
  f.state = FiberState::kWaitWarp;
  b.warp_at[f.warp]++;
  release_if_complete(b, f.warp);
  yield();
}

}  // namespace

void sync_block() {
  Block& b = *block;
  b.fibers[b.running].state = FiberState::kWaitBlock;
  b.at_block++;
  release_if_complete(b, b.fibers[b.running].warp);
  yield();
}

void sync_warp() { warp_barrier(); }

uint64_t warp_exchange(uint64_t bits, int src) {
  Block& b = *block;
  const int me = b.running;
  const int warp = b.fibers[me].warp;
  b.slots[me] = bits;
  warp_barrier();  // every live lane has deposited
  const int from = warp * 32 + src;
  const bool valid = src >= 0 && src < 32 && from < static_cast<int>(b.fibers.size()) && b.fibers[from].state != FiberState::kDone;
  const uint64_t got = valid ? b.slots[from] : bits;
  warp_barrier();  // every lane has read before any deposits again
  return got;
}

void run_launch(dim3 grid, dim3 blk, void (*body)(void*), void* arg) {
  const unsigned long long threads = static_cast<unsigned long long>(blk.x) * blk.y * blk.z;
  if (threads == 0 || threads > 1024 || blk.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 ||
      grid.x > 2147483647u) {
    last_error = cudaErrorInvalidConfiguration;
    return;
  }
  // KINDLING_EMU_NO_KERNELS=1 skips the kernels' work (not the checks above): what is left of a
  // step's time is the host's own (core, packing, the N-API call, launch set-up), measurable here.
  static const bool no_kernels = kindling::flag_bool("KINDLING_EMU_NO_KERNELS", false);
  if (no_kernels) return;
  const int n = static_cast<int>(threads);
  if (workers.size() < static_cast<size_t>(n)) workers.resize(n);
  Block b;
  b.fibers.resize(n);
  b.slots.resize(n);
  b.warp_live.assign((n + 31) / 32, 0);
  b.warp_at.assign((n + 31) / 32, 0);
  b.body = body;
  b.arg = arg;
  Block* const outer = block;
  ThreadState* const outer_thread = current;
  block = &b;
  grid_dim = grid;
  block_dim = blk;
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        block_idx = uint3{bx, by, bz};
        b.live = n;
        b.at_block = 0;
        std::fill(b.warp_at.begin(), b.warp_at.end(), 0);
        for (int w = 0; w < static_cast<int>(b.warp_live.size()); w++) b.warp_live[w] = (w + 1) * 32 <= n ? 32 : n - w * 32;
        for (int i = 0; i < n; i++) {
          Fiber& f = b.fibers[i];
          f.ts.tid = uint3{static_cast<unsigned>(i % blk.x), static_cast<unsigned>(i / blk.x % blk.y), static_cast<unsigned>(i / (blk.x * blk.y))};
          f.state = FiberState::kReady;
          f.warp = i / 32;
        }
        while (b.live > 0) {
          bool ran = false;
          for (int i = 0; i < n; i++) {
            if (b.fibers[i].state != FiberState::kReady) continue;
            ran = true;
            b.running = i;
            current = &b.fibers[i].ts;
            Worker& w = workers[i];
            if (_setjmp(b.scheduler)) continue;  // the thread yielded or ended
            if (w.started) _longjmp(w.jb, 1);
            w.started = true;
            if (!w.stack) w.stack = static_cast<char*>(std::malloc(kStackBytes));
            getcontext(&w.ctx);
            w.ctx.uc_stack.ss_sp = w.stack;
            w.ctx.uc_stack.ss_size = kStackBytes;
            w.ctx.uc_link = nullptr;
            makecontext(&w.ctx, worker_loop, 0);
            setcontext(&w.ctx);
          }
          if (!ran) {
            // Threads wait at a barrier that the others never reach: on a GPU, a hang.
            std::fprintf(stderr, "cuda emulator: block (%u, %u, %u) deadlocked: %d threads wait at a barrier the other %d never reach\n", bx, by,
                         bz, b.at_block, b.live - b.at_block);
            last_error = cudaErrorLaunchFailure;
            // The waiting threads' workers hold frames of this kernel: start them afresh next time.
            for (int i = 0; i < n; i++)
              if (b.fibers[i].state != FiberState::kDone) workers[i].started = false;
            block = outer;
            current = outer_thread;
            return;
          }
        }
      }
  block = outer;
  current = outer_thread;
}

}  // namespace emu

// ---- runtime API --------------------------------------------------------------------------------
namespace {

constexpr size_t kDeviceBytes = size_t(16) << 30;
std::mutex mem_mutex;
size_t mem_used = 0;
std::vector<std::pair<void*, size_t>>& sizes() {
  static std::vector<std::pair<void*, size_t>> s;
  return s;
}
struct Handle {};

cudaError_t fail(cudaError_t e) {
  emu::last_error = e;
  return e;
}

}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof(p->name), "CUDA emulator on the CPU");
  p->totalGlobalMem = kDeviceBytes;
  // An H200's shape, so that kernels pick the same paths (tile sizes, split-K, two-stage sums).
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 132;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::last_error;
  emu::last_error = cudaSuccess;
  return e;
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    default: return "error";
  }
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  std::lock_guard<std::mutex> lock(mem_mutex);
  const size_t rounded = (bytes + 255) / 256 * 256;
  if (mem_used + rounded > kDeviceBytes) return fail(cudaErrorMemoryAllocation);
  *p = std::aligned_alloc(256, rounded ? rounded : 256);
  if (!*p) return fail(cudaErrorMemoryAllocation);
  // Fresh device memory holds garbage: all-ones bytes read as NaN floats and -1 integers, so a
  // kernel that reads what nobody wrote gives itself away.
  std::memset(*p, 0xff, rounded);
  mem_used += rounded;
  sizes().emplace_back(*p, rounded);
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  std::lock_guard<std::mutex> lock(mem_mutex);
  auto& s = sizes();
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i].first != p) continue;
    mem_used -= s[i].second;
    s[i] = s.back();
    s.pop_back();
    std::free(p);
    return cudaSuccess;
  }
  return p ? fail(cudaErrorInvalidValue) : cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::mutex> lock(mem_mutex);
  *free_bytes = kDeviceBytes - mem_used;
  *total_bytes = kDeviceBytes;
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaHostGetDevicePointer(void** d, void* h, unsigned) {
  *d = h;  // host and "device" share one address space here
  return cudaSuccess;
}
cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
  if (bytes) std::memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = reinterpret_cast<cudaStream_t>(new Handle);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete reinterpret_cast<Handle*>(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = reinterpret_cast<cudaEvent_t>(new Handle);
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { return cudaEventCreate(e); }
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<Handle*>(e);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t, cudaEvent_t) {
  *ms = 0.f;
  return cudaSuccess;
}
