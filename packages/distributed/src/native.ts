/**
 * Loading the addon (build/Release/kindling_distributed.node, see ../CMakeLists.txt). When it is
 * missing, `nativeStatus().reason` quotes the build's reason (build/native-status.json) and the
 * 'gloo' backend reports it instead of running.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ReduceCode = 0 | 1 | 2; // sum, min, max (native/src/addon.cc's Op)
type HostArray = Float32Array | Int32Array;
type StoreCallback = (op: string, keys: string[], value: Buffer, timeoutMs: number, done: (err: string | null, value?: Buffer) => void) => void;

export interface NativeGlooGroup {
  connect(store: StoreCallback): Promise<void>;
  allReduce(data: HostArray, op: ReduceCode): Promise<void>;
  broadcast(data: HostArray, root: number): Promise<void>;
  allGather(input: HostArray, output: HostArray): Promise<void>;
  reduceScatter(data: HostArray, recvCounts: Int32Array, op: ReduceCode): Promise<void>;
  barrier(): Promise<void>;
  close(): void;
}

/** NCCL communicator: device addresses and the stream as numbers (native/src/nccl.cc). */
export interface NativeNcclComm {
  init(id: Buffer, nranks: number, rank: number, device: number): Promise<void>;
  allReduce(ptr: number, count: number, dtype: number, op: number, stream: number): void;
  broadcast(ptr: number, count: number, dtype: number, root: number, stream: number): void;
  allGather(send: number, recv: number, sendCount: number, dtype: number, stream: number): void;
  reduceScatter(send: number, recv: number, recvCount: number, dtype: number, op: number, stream: number): void;
  destroy(): void;
}

export interface NativeAddon {
  glooVersion: string;
  GlooProcessGroup: new (rank: number, size: number, timeoutMs: number, hostname: string, iface: string) => NativeGlooGroup;
  ncclProbe(): { available: boolean; version?: string; library?: string; reason?: string };
  ncclUniqueId(): Buffer;
  NcclComm: new () => NativeNcclComm;
}

let cached: { addon: NativeAddon | null; reason: string } | null = null;

export function nativeStatus(): { addon: NativeAddon | null; reason: string } {
  if (cached) return cached;
  const buildDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'build');
  const file = join(buildDir, 'Release', 'kindling_distributed.node');
  if (!existsSync(file)) {
    let reason = 'the native addon was not built (pnpm build)';
    try {
      const s = JSON.parse(readFileSync(join(buildDir, 'native-status.json'), 'utf8')) as { reason?: string };
      if (s.reason) reason = `the native addon was not built: ${s.reason}`;
    } catch {
      // no status file: the build never ran
    }
    return (cached = { addon: null, reason });
  }
  try {
    return (cached = { addon: createRequire(import.meta.url)(file) as NativeAddon, reason: '' });
  } catch (e) {
    return (cached = { addon: null, reason: `cannot load ${file}: ${(e as Error).message}` });
  }
}

/** The addon, or a DistributedError-worthy reason thrown by the caller. */
export function requireNative(op: string, mk: (op: string, msg: string) => Error): NativeAddon {
  const s = nativeStatus();
  if (!s.addon) throw mk(op, `gloo unavailable: ${s.reason}`);
  return s.addon;
}
