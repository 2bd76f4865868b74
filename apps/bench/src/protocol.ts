/**
 * The line protocol between the bench (parent) and each contender's own process (a Node worker
 * for Kindling and TF.js, python/bench_torch.py for PyTorch): one JSON object per line each way.
 * Every contender runs in a fresh process per workload, so its peak RSS is its own, and idle
 * contenders block on stdin while another one runs (no CPU contention between them).
 */
import type { WorkloadId } from './workloads.js';

export type Request =
  | { cmd: 'setup'; workload: WorkloadId; batch: number; dataDir?: string | null }
  /**
   * Steps until maxSteps or minSeconds (at least one). A step longer than stepBudget seconds ends
   * the run at once (the parent then stops the contender with that time as the reason).
   */
  | { cmd: 'run'; maxSteps: number; minSeconds: number; stepBudget?: number }
  | { cmd: 'exit' };

export interface SetupReply {
  ok: true;
  /** What runs (backend, implementation, threads, library versions). */
  info: string;
  /** The WebGPU adapter it runs on (webgpu contenders only), e.g. "google / swiftshader / …". */
  adapter?: string;
}

export interface RunReply {
  ok: true;
  /** Seconds per step, in order. */
  times: number[];
  /** Peak resident set size of the process so far, in bytes. */
  maxRss: number;
  /** Workload-specific numbers (e.g. the epoch's data-decoding seconds). */
  extra?: Record<string, number>;
}

export interface ErrorReply {
  ok: false;
  error: string;
}

export type Reply = SetupReply | RunReply | ErrorReply;
