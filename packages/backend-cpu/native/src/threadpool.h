// A fixed pool of native threads shared by every kernel of the addon.
//
// The calling (JavaScript) thread always takes part as thread 0, so a pool of `n` threads starts
// n-1 workers and a parallel kernel uses exactly n cores, never more. Workers spin briefly after
// a job (the next kernel usually follows within microseconds) and then sleep on a condition
// variable. A kernel that is already running inside the pool runs nested parallel calls inline,
// and a second isolate (a worker_thread that loaded the addon too) finding the pool busy runs its
// kernel single-threaded instead of waiting, so threads are never oversubscribed. Work is handed
// out as chunks any thread may claim, and the caller never waits for a worker that has not
// claimed one (see threadpool.cc), so a worker descheduled by another process delays nothing.
#pragma once
#include <cstdint>
#include <functional>

namespace kd {

// Starts (or restarts with a new size) the pool; n >= 1 is the total thread count.
void pool_init(int n);
void pool_shutdown();
int pool_threads();

// Runs fn(part, nt) for every part in [0, nt), nt = min(want, pool size), spread over the pool's
// threads (the caller included; a thread may run several parts, so `part` names a share of the
// work, not a thread); returns when all have finished. Inline as fn(0, 1) when nt is 1 or the pool
// is busy.
void parallel_run(int want, const std::function<void(int tid, int nt)>& fn);

// Splits [0, n) into contiguous ranges of at least `grain` items (a few per thread, handed out
// dynamically) and runs fn(lo, hi, tid) on each; a thread may get several ranges, in any order.
// Runs inline when one range suffices.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t lo, int64_t hi, int tid)>& fn);

// True inside a parallel region (kernels then run their inner work single-threaded).
bool in_parallel();

}  // namespace kd
