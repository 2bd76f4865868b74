#include "threadpool.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace kd {
namespace {

// How long a worker spins for the next job before sleeping: a training step issues a parallel
// kernel every few hundred microseconds, and a futex wake-up costs tens of microseconds each time
// (OpenMP runtimes spin for similar times by default).
constexpr auto kSpin = std::chrono::microseconds(2000);

struct Pool {
  std::vector<std::thread> workers;
  int size = 1;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  const std::function<void(int, int)>* job = nullptr;
  int job_threads = 1;
  std::mutex m;
  std::condition_variable cv;
  std::mutex run_lock;  // one parallel region at a time (across isolates)
};

// Never destroyed: joinable std::threads in a static destructor would abort the process at exit.
// Workers are stopped by pool_shutdown(), which the addon calls from its environment cleanup hook.
Pool& pool = *new Pool();
thread_local bool t_in_parallel = false;

// `seen` is the generation at creation, read by the creating thread: a worker that read it itself
// could start after the first job was posted and wait for the next one forever.
void worker_main(int tid, uint64_t seen) {
  t_in_parallel = true;
  for (;;) {
    // Spin for a short while, then sleep until the generation changes.
    auto start = std::chrono::steady_clock::now();
    int spins = 0;
    while (pool.generation.load(std::memory_order_acquire) == seen && !pool.stop.load()) {
      _mm_pause();
      if (++spins % 256 == 0 && std::chrono::steady_clock::now() - start > kSpin) {
        std::unique_lock<std::mutex> lk(pool.m);
        pool.sleepers.fetch_add(1);
        pool.cv.wait(lk, [&] { return pool.generation.load() != seen || pool.stop.load(); });
        pool.sleepers.fetch_sub(1);
      }
    }
    if (pool.stop.load()) return;
    seen = pool.generation.load(std::memory_order_acquire);
    if (tid < pool.job_threads) (*pool.job)(tid, pool.job_threads);
    pool.pending.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace

namespace {
// Stops and joins the workers; the caller holds pool.run_lock.
void shutdown_locked() {
  if (pool.workers.empty()) return;
  {
    std::lock_guard<std::mutex> lk(pool.m);
    pool.stop.store(true);
  }
  pool.cv.notify_all();
  for (auto& t : pool.workers) t.join();
  pool.workers.clear();
  pool.stop.store(false);
  pool.size = 1;
}
}  // namespace

void pool_shutdown() {
  std::lock_guard<std::mutex> guard(pool.run_lock);
  shutdown_locked();
}

void pool_init(int n) {
  std::lock_guard<std::mutex> guard(pool.run_lock);
  n = std::max(1, n);
  if (n == pool.size && static_cast<int>(pool.workers.size()) == n - 1) return;
  shutdown_locked();
  pool.size = n;
  for (int t = 1; t < n; t++) pool.workers.emplace_back(worker_main, t, pool.generation.load());
}

int pool_threads() { return pool.size; }

bool in_parallel() { return t_in_parallel; }

void parallel_run(int want, const std::function<void(int, int)>& fn) {
  int nt = std::min(want, pool.size);
  if (nt <= 1 || t_in_parallel || !pool.run_lock.try_lock()) {
    fn(0, 1);
    return;
  }
  pool.job = &fn;
  pool.job_threads = nt;
  pool.pending.store(static_cast<int>(pool.workers.size()), std::memory_order_relaxed);
  pool.generation.fetch_add(1);  // seq_cst: pairs with the sleepers check below
  if (pool.sleepers.load() > 0) {
    std::lock_guard<std::mutex> lk(pool.m);
    pool.cv.notify_all();
  }
  t_in_parallel = true;
  fn(0, nt);
  t_in_parallel = false;
  while (pool.pending.load(std::memory_order_acquire) > 0) _mm_pause();
  pool.run_lock.unlock();
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t max_chunks = (n + grain - 1) / grain;
  if (max_chunks <= 1 || pool.size <= 1 || t_in_parallel) {
    fn(0, n, 0);
    return;
  }
  // Dynamic scheduling: a few chunks per thread, taken from a shared counter, so a thread that the
  // OS delays (another process on the machine) costs its chunk, not half of the work.
  const int64_t chunks = std::min<int64_t>(max_chunks, static_cast<int64_t>(pool.size) * 4);
  std::atomic<int64_t> next{0};
  parallel_run(static_cast<int>(std::min<int64_t>(chunks, pool.size)), [&](int tid, int) {
    for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
      const int64_t lo = n * c / chunks, hi = n * (c + 1) / chunks;
      if (lo < hi) fn(lo, hi, tid);
    }
  });
}

}  // namespace kd
