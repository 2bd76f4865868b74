/**
 * The addon loader's order and messages (src/native.ts): the prebuilt platform package first, then
 * a local source build, else `gloo unavailable: <reason>` with every candidate's reason. Other
 * platforms and missing or broken files are stood in for through the LoaderHost; the last test
 * loads the real addon of this machine.
 */
import { describe, expect, it } from 'vitest';
import { platformBinary } from '../../backend-cpu-linux-x64-gnu/test/platform-binary.js';
import { LOCAL_BUILD_HINT, loadWith, nativeStatus, requireNative, type LoaderHost, type NativeAddon } from '../src/native.js';

const PKG = '@kindling/distributed-linux-x64-gnu';
const PLATFORM_NODE = `/nm/${PKG}/kindling_distributed.node`;
const LOCAL_NODE = '/nm/@kindling/distributed/build/Release/kindling_distributed.node';
/** This workspace's platform package build: skipped, with its reason, where Gloo is not installed. */
const { skip } = platformBinary(new URL('../../distributed-linux-x64-gnu/', import.meta.url), 'kindling_distributed.node');

function host(over: Partial<LoaderHost> & { files?: string[]; broken?: Record<string, string>; installed?: boolean } = {}): LoaderHost & { loaded: string[] } {
  const files = new Set(over.files ?? [PLATFORM_NODE, LOCAL_NODE]);
  const loaded: string[] = [];
  return {
    platformKey: 'linux-x64-gnu',
    resolvePlatformAddon: (pkg) => (over.installed === false ? null : `/nm/${pkg}/kindling_distributed.node`),
    platformStatus: () => null,
    localAddon: LOCAL_NODE,
    localStatus: () => null,
    exists: (p) => files.has(p),
    loadAddon(path) {
      const why = over.broken?.[path];
      if (why) throw new Error(`${why}\nRequire stack: …`);
      loaded.push(path);
      return { glooVersion: path } as unknown as NativeAddon;
    },
    ...over,
    loaded,
  };
}

describe('the distributed addon loader', () => {
  it('takes the platform package first', () => {
    const h = host();
    const s = loadWith(h);
    expect(s.source).toBe(PKG);
    expect(h.loaded).toEqual([PLATFORM_NODE]);
  });

  it('falls back to a local build when the platform package is not installed, or fails to load', () => {
    expect(loadWith(host({ installed: false })).source).toBe(`a local source build (${LOCAL_NODE})`);
    const broken = loadWith(host({ broken: { [PLATFORM_NODE]: `${PLATFORM_NODE}: /lib/x86_64-linux-gnu/libc.so.6: version \`GLIBC_2.34' not found` } }));
    expect(broken.source).toBe(`a local source build (${LOCAL_NODE})`);
  });

  it('says what an npm user can do when nothing loads', () => {
    const none = loadWith(host({ installed: false, files: [] }));
    expect(none.addon).toBeNull();
    expect(none.reason).toBe(`the optional dependency ${PKG} is not installed (reinstall without --omit=optional / --no-optional); no local source build (${LOCAL_BUILD_HINT})`);
    const mk = (op: string, msg: string) => new Error(`${op}: ${msg}`);
    expect(() => requireNative('initProcessGroup', mk, () => none)).toThrow(`initProcessGroup: gloo unavailable: the optional dependency ${PKG} is not installed`);

    const failed = loadWith(host({ files: [LOCAL_NODE], broken: { [LOCAL_NODE]: 'libgloo.so.0: cannot open shared object file' }, localStatus: () => ({ built: true }) }));
    expect(failed.reason).toBe(`${PKG} is installed without its kindling_distributed.node; a local source build (${LOCAL_NODE}) failed to load: libgloo.so.0: cannot open shared object file`);

    const musl = loadWith(host({ platformKey: 'linux-arm64-gnu', files: [], localStatus: () => ({ built: false, reason: 'Gloo headers not found (Debian: apt-get install libgloo-dev)' }) }));
    expect(musl.reason).toBe("no prebuilt addon for linux-arm64-gnu (@kindling/distributed's README lists the built platforms); no local source build: Gloo headers not found (Debian: apt-get install libgloo-dev)");
  });

  it('quotes the platform build\'s own reason when its addon is missing', () => {
    const s = loadWith(host({ files: [], platformStatus: () => ({ built: false, reason: 'cmake not found (Debian: apt-get install cmake)' }) }));
    expect(s.reason).toMatch(/^@kindling\/distributed-linux-x64-gnu is installed without its kindling_distributed.node \(its build: cmake not found/);
  });

  it.skipIf(!!skip)(`loads the real addon here from the platform package (the workspace builds it)${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const s = nativeStatus();
    expect(s.reason).toBe('');
    expect(s.source).toBe(PKG);
    expect(s.addon!.glooVersion).toMatch(/^\d/);
  });
});
