#include "threadpool.h"

#include "kindling_flags.h"

#include <immintrin.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace kd {
namespace {

using Clock = std::chrono::steady_clock;

// How long a worker spins for the next job before sleeping: a training step issues a parallel
// kernel every few dozen microseconds, and a futex wake-up costs tens of microseconds each time
// (OpenMP runtimes spin for similar times by default). $KINDLING_CPU_SPIN_US overrides it.
std::chrono::microseconds g_spin(2000);
// But on a machine shared with busy processes a spinning worker competes with them, and with this
// process's own calling thread, for the cores: each worker watches its involuntary context
// switches (getrusage, at most once a millisecond) and, for 200 ms after it was preempted, spins
// only briefly before sleeping. A sleeping worker delays no job (it joins when it wakes; see below).
constexpr auto kSpinContended = std::chrono::microseconds(50);
constexpr auto kContendedFor = std::chrono::milliseconds(200);
constexpr auto kRusagePeriod = std::chrono::milliseconds(1);

// Contention guard. A worker that the OS preempts while it holds a chunk makes the caller wait
// for the rest of some other process's time slice (milliseconds, against chunks of tens of
// microseconds). When a job's wait for the workers' last chunks is far longer than its chunks
// take, the pool runs jobs on the calling thread alone for a while (20 ms, doubling while it
// keeps happening, up to 1 s), then tries the workers again. The chunks and their order do not
// change, so results are the same either way. Touched only by the thread holding run_lock.
struct Guard {
  Clock::time_point solo_until{};
  Clock::duration backoff = std::chrono::milliseconds(20);
  Clock::time_point last_event{};
};
Guard g_guard;
constexpr auto kBackoffMin = std::chrono::milliseconds(20);
constexpr auto kBackoffMax = std::chrono::milliseconds(1000);
constexpr auto kSlack = std::chrono::microseconds(200);

// A job is a number of chunks that any thread may claim, one at a time, from a single atomic word:
// [generation:32 | chunks:16 | next:16]. The caller claims chunks too and only ever waits for
// chunks some thread has claimed and not yet finished. A worker the OS has not scheduled (another
// process on the machine: the norm on a shared 2-core VM) therefore costs nothing: the caller runs
// its chunks, and the worker, when it runs, finds the job's generation gone and touches nothing.
// The older protocol (every worker acknowledges every job) made each of the ~40 parallel kernels
// of a LeNet step wait for a descheduled worker's next time slice.
constexpr uint64_t kMaxChunks = 0xffff;

struct Pool {
  std::vector<std::thread> workers;
  int size = 1;
  std::atomic<uint32_t> generation{0};
  std::atomic<uint64_t> claim{0};
  std::atomic<int64_t> done{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  // The current job's body: valid while one of its chunks is claimed and not done.
  const std::function<void(int64_t chunk, int tid)>* job = nullptr;
  std::mutex m;
  std::condition_variable cv;
  std::mutex run_lock;  // one parallel region at a time (across isolates)
};

// Never destroyed: joinable std::threads in a static destructor would abort the process at exit.
// Workers are stopped by pool_shutdown(), which the addon calls from its environment cleanup hook.
Pool& pool = *new Pool();
thread_local bool t_in_parallel = false;

inline uint64_t claim_word(uint32_t gen, uint64_t chunks, uint64_t next) {
  return (static_cast<uint64_t>(gen) << 32) | (chunks << 16) | next;
}

// Claims and runs chunks of job `gen` until none is left (or the job is no longer `gen`); returns
// how many it ran.
int64_t run_chunks(uint32_t gen, int tid) {
  int64_t ran = 0;
  uint64_t v = pool.claim.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(v >> 32) != gen) return ran;
    const uint64_t chunks = (v >> 16) & 0xffff, next = v & 0xffff;
    if (next >= chunks) return ran;
    if (!pool.claim.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    (*pool.job)(static_cast<int64_t>(next), tid);
    pool.done.fetch_add(1, std::memory_order_acq_rel);
    ran++;
    v = pool.claim.load(std::memory_order_acquire);
  }
}

// `seen` is the generation at creation, read by the creating thread: a worker that read it itself
// could start after the first job was posted and wait for the next one forever.
void worker_main(int tid, uint32_t seen) {
  t_in_parallel = true;
  long preempted = -1;  // involuntary context switches of this thread at the last check
  Clock::time_point checked{}, contended_until{};
  for (;;) {
    auto start = Clock::now();
#ifdef RUSAGE_THREAD  // Linux; elsewhere workers always spin the full time
    if (start - checked >= kRusagePeriod) {
      struct rusage ru;
      if (getrusage(RUSAGE_THREAD, &ru) == 0) {
        if (preempted >= 0 && ru.ru_nivcsw > preempted) contended_until = start + kContendedFor;
        preempted = ru.ru_nivcsw;
      }
      checked = start;
    }
#endif
    const auto spin = start < contended_until ? std::min<Clock::duration>(kSpinContended, g_spin) : Clock::duration(g_spin);
    // Spin for a short while, then sleep until the generation changes.
    int spins = 0;
    while (pool.generation.load(std::memory_order_acquire) == seen && !pool.stop.load(std::memory_order_relaxed)) {
      _mm_pause();
      if (++spins % 256 == 0 && Clock::now() - start > spin) {
        std::unique_lock<std::mutex> lk(pool.m);
        pool.sleepers.fetch_add(1);
        pool.cv.wait(lk, [&] { return pool.generation.load() != seen || pool.stop.load(); });
        pool.sleepers.fetch_sub(1);
      }
    }
    if (pool.stop.load()) return;
    seen = pool.generation.load(std::memory_order_acquire);
    run_chunks(seen, tid);
  }
}

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

// Runs fn(chunk, tid) for every chunk in [0, chunks) on the pool, the caller included; returns
// when all have finished. The caller holds run_lock.
void run_job_locked(int64_t chunks, const std::function<void(int64_t, int)>& fn) {
  const Clock::time_point start = Clock::now();
  if (start < g_guard.solo_until) {
    t_in_parallel = true;
    for (int64_t c = 0; c < chunks; c++) fn(c, 0);
    t_in_parallel = false;
    return;
  }
  pool.job = &fn;
  pool.done.store(0, std::memory_order_relaxed);
  const uint32_t gen = pool.generation.load(std::memory_order_relaxed) + 1;
  pool.claim.store(claim_word(gen, static_cast<uint64_t>(chunks), 0), std::memory_order_release);
  pool.generation.store(gen, std::memory_order_seq_cst);  // pairs with the sleepers check below
  if (pool.sleepers.load() > 0) {
    std::lock_guard<std::mutex> lk(pool.m);
    pool.cv.notify_all();
  }
  t_in_parallel = true;
  const int64_t own = run_chunks(gen, 0);
  t_in_parallel = false;
  if (pool.done.load(std::memory_order_acquire) >= chunks) return;
  // Only chunks a worker has claimed are left; wait for them (yielding now and then, so a worker
  // preempted on this core gets it back).
  const Clock::time_point mine = Clock::now();
  for (int spins = 0; pool.done.load(std::memory_order_acquire) < chunks;) {
    _mm_pause();
    if (++spins % 4096 == 0) std::this_thread::yield();
  }
  const Clock::time_point end = Clock::now();
  const Clock::duration per_chunk = own > 0 ? (mine - start) / own : Clock::duration::zero();
  if (end - mine > 2 * per_chunk + kSlack) {
    g_guard.backoff = end - g_guard.last_event < 2 * g_guard.backoff ? std::min<Clock::duration>(2 * g_guard.backoff, kBackoffMax) : kBackoffMin;
    g_guard.solo_until = end + g_guard.backoff;
    g_guard.last_event = end;
  }
}

}  // namespace

void pool_shutdown() {
  std::lock_guard<std::mutex> guard(pool.run_lock);
  shutdown_locked();
}

void pool_init(int n) {
  std::lock_guard<std::mutex> guard(pool.run_lock);
  g_spin = std::chrono::microseconds(kindling::flag_int("KINDLING_CPU_SPIN_US", g_spin.count()));
  n = std::max(1, n);
  if (n == pool.size && static_cast<int>(pool.workers.size()) == n - 1) return;
  shutdown_locked();
  pool.size = n;
  for (int t = 1; t < n; t++) pool.workers.emplace_back(worker_main, t, pool.generation.load());
}

int pool_threads() { return pool.size; }

bool in_parallel() { return t_in_parallel; }

void parallel_run(int want, const std::function<void(int, int)>& fn) {
  const int nt = std::min(want, pool.size);
  if (nt <= 1 || t_in_parallel || !pool.run_lock.try_lock()) {
    fn(0, 1);
    return;
  }
  // Each part is a chunk: the parts are fixed, which thread runs them is not.
  const std::function<void(int64_t, int)> body = [&](int64_t c, int) { fn(static_cast<int>(c), nt); };
  run_job_locked(nt, body);
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
  // Dynamic scheduling: a few chunks per thread, so a thread that the OS delays costs its chunk
  // at most, not half of the work.
  const int64_t chunks = std::min<int64_t>({max_chunks, static_cast<int64_t>(pool.size) * 4, static_cast<int64_t>(kMaxChunks)});
  if (!pool.run_lock.try_lock()) {  // another isolate holds the pool: run here
    fn(0, n, 0);
    return;
  }
  const std::function<void(int64_t, int)> body = [&](int64_t c, int tid) {
    const int64_t lo = n * c / chunks, hi = n * (c + 1) / chunks;
    if (lo < hi) fn(lo, hi, tid);
  };
  run_job_locked(chunks, body);
  pool.run_lock.unlock();
}

}  // namespace kd
