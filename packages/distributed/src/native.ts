/**
 * Loading the addon (kindling_distributed.node, see ../CMakeLists.txt), in this order:
 *   1. the prebuilt platform package, an optional dependency (@kindling/distributed-linux-x64-gnu:
 *      the addon with libgloo and its dependencies beside it);
 *   2. a local source build, build/Release/kindling_distributed.node (scripts/build-native.mjs,
 *      linked to the system's libgloo);
 *   3. none: `nativeStatus().reason` gives every candidate's reason and the 'gloo' backend
 *      reports `gloo unavailable: <reason>` instead of running.
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

/** Platforms with a prebuilt package (the README's table lists the same). */
export const PLATFORM_PACKAGES: Readonly<Record<string, boolean>> = { 'linux-x64-gnu': true };

/** What an npm user runs where no prebuilt package fits (README: "Building from source"). */
export const LOCAL_BUILD_HINT =
  'for a local source build install libgloo-dev, cmake and g++ (Debian), then run `node scripts/build-native.mjs` in node_modules/@kindling/distributed (it names the npm build tools to add first)';

type BuildStatus = { built?: boolean; reason?: string } | null;

/** What the loader needs from Node, passed in so tests can stand in for a platform or a file. */
export interface LoaderHost {
  /** e.g. linux-x64-gnu. */
  platformKey: string;
  /** The platform package's kindling_distributed.node, or null when the package is not installed. */
  resolvePlatformAddon(pkg: string): string | null;
  platformStatus(pkg: string): BuildStatus;
  localAddon: string;
  localStatus(): BuildStatus;
  exists(path: string): boolean;
  /** dlopen; throws like require() on failure. */
  loadAddon(path: string): NativeAddon;
}

export interface NativeStatus {
  addon: NativeAddon | null;
  /** Where the addon came from (`@kindling/distributed-linux-x64-gnu` or `a local source build (…)`). */
  source: string;
  /** Why no addon loaded: every candidate's reason, joined. */
  reason: string;
}

/** The loader's order: the platform package, then the local source build; the first that loads wins. */
export function loadWith(host: LoaderHost): NativeStatus {
  const candidates: { path: string; source: string }[] = [];
  const reasons: string[] = [];
  const pkg = `@kindling/distributed-${host.platformKey}`;
  if (!PLATFORM_PACKAGES[host.platformKey]) {
    reasons.push(`no prebuilt addon for ${host.platformKey} (@kindling/distributed's README lists the built platforms)`);
  } else {
    const path = host.resolvePlatformAddon(pkg);
    if (path && host.exists(path)) candidates.push({ path, source: pkg });
    else if (path) {
      const st = host.platformStatus(pkg);
      reasons.push(`${pkg} is installed without its kindling_distributed.node${st?.built === false && st.reason ? ` (its build: ${st.reason})` : ''}`);
    } else reasons.push(`the optional dependency ${pkg} is not installed (reinstall without --omit=optional / --no-optional)`);
  }
  if (host.exists(host.localAddon)) candidates.push({ path: host.localAddon, source: `a local source build (${host.localAddon})` });
  else {
    const st = host.localStatus();
    reasons.push(st?.built === false && st.reason ? `no local source build: ${st.reason}` : `no local source build (${LOCAL_BUILD_HINT})`);
  }
  for (const c of candidates) {
    try {
      return { addon: host.loadAddon(c.path), source: c.source, reason: '' };
    } catch (e) {
      reasons.push(`${c.source} failed to load: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { addon: null, source: '', reason: reasons.join('; ') };
}

function readStatus(path: string): BuildStatus {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BuildStatus;
  } catch {
    return null; // no status file: the build never ran
  }
}

/** linux-x64-gnu, linux-x64-musl, darwin-arm64, win32-x64-msvc (esbuild's and sharp's naming). */
function platformKey(): string {
  if (process.platform === 'linux') {
    const glibc = !!(process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
    return `linux-${process.arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  return process.platform === 'win32' ? `win32-${process.arch}-msvc` : `${process.platform}-${process.arch}`;
}

let cached: NativeStatus | null = null;

export function nativeStatus(): NativeStatus {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const buildDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'build');
  return (cached = loadWith({
    platformKey: platformKey(),
    resolvePlatformAddon(pkg) {
      try {
        // From its package.json: the addon file may be missing (a failed build), which exists() tells.
        return join(dirname(require.resolve(`${pkg}/package.json`)), 'kindling_distributed.node');
      } catch {
        return null;
      }
    },
    platformStatus(pkg) {
      try {
        return readStatus(join(dirname(require.resolve(`${pkg}/package.json`)), 'build', 'native-status.json'));
      } catch {
        return null;
      }
    },
    localAddon: join(buildDir, 'Release', 'kindling_distributed.node'),
    localStatus: () => readStatus(join(buildDir, 'native-status.json')),
    exists: existsSync,
    loadAddon: (path) => require(path) as NativeAddon,
  }));
}

/** The addon, or a DistributedError-worthy reason thrown by the caller. */
export function requireNative(op: string, mk: (op: string, msg: string) => Error, status: () => NativeStatus = nativeStatus): NativeAddon {
  const s = status();
  if (!s.addon) throw mk(op, `gloo unavailable: ${s.reason}`);
  return s.addon;
}
