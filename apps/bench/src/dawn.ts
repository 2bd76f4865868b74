/**
 * WebGPU in Node for the bench: which Vulkan driver the webgpu contenders use, and a
 * `navigator.gpu` for TensorFlow.js (whose webgpu backend only looks there).
 *
 * Both webgpu contenders — Kindling's backend (which finds Dawn itself, packages/backend-webgpu
 * src/gpu.ts) and TF.js's tfjs-backend-webgpu (given Dawn's GPU object as navigator.gpu here) — run
 * on Dawn from the same `webgpu` package, each in its own process. The parent picks
 * VK_ICD_FILENAMES once (`webgpuEnv`) and gives it to both, so they get the same adapter: on a
 * machine without a GPU device node that is SwiftShader, the software Vulkan driver Debian's
 * chromium ships, as Kindling's backend would choose by itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The ICD manifest of Debian chromium's SwiftShader (the same path packages/backend-webgpu uses). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Whether this Linux machine shows a GPU device node (else native Vulkan drivers cannot give an adapter). */
function hasGpuDeviceNode(): boolean {
  try {
    if (readdirSync('/dev/dri').some((f) => f.startsWith('render'))) return true;
  } catch {
    // no /dev/dri
  }
  try {
    return readdirSync('/dev').some((f) => /^nvidia\d+$/.test(f));
  } catch {
    return false;
  }
}

/**
 * The environment for a webgpu contender: the caller's, with VK_ICD_FILENAMES pointed at
 * SwiftShader when it is unset, the manifest exists and the machine has no GPU device node.
 * A VK_ICD_FILENAMES that is already set is kept.
 */
export function webgpuEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  if (out.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD) && !hasGpuDeviceNode()) out.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return out;
}

/** The parts of WebGPU's objects the bench touches (the bench compiles without @webgpu/types). */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}
interface AdapterLike {
  info?: AdapterInfoLike;
}
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** "google / swiftshader / …": the adapter as Kindling's backend names it in its info(). */
export function describeAdapter(info: AdapterInfoLike | undefined): string {
  if (!info) return 'unknown adapter';
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' / ') || 'unknown adapter';
}

/** The version of an installed package, read from its package.json ('?' when it cannot be found). */
export function packageVersion(name: string): string {
  const req = createRequire(import.meta.url);
  try {
    return (JSON.parse(readFileSync(req.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    try {
      // Packages whose "exports" hide package.json: walk up from the entry point.
      const entry = req.resolve(name);
      const at = entry.lastIndexOf(`/node_modules/${name}/`);
      if (at < 0) return '?';
      const dir = entry.slice(0, at + `/node_modules/${name}`.length);
      return (JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  }
}

let installed: { gpu: GpuLike; adapter: string } | null = null;

/**
 * Makes Dawn's GPU object `navigator.gpu` (and installs Dawn's WebGPU constants such as
 * GPUBufferUsage on globalThis), as a browser would have them, then asks it for the adapter the
 * way TF.js does (high-performance). Returns the adapter's description; throws with the reason when
 * there is no adapter. The GPU object stays referenced from navigator for the process's lifetime
 * (Dawn tears its instance down when that object is collected).
 */
export async function installNavigatorGpu(): Promise<{ gpu: GpuLike; adapter: string }> {
  if (installed) return installed;
  let dawn: DawnModule;
  try {
    const name = 'webgpu';
    dawn = (await import(name)) as DawnModule;
  } catch (e) {
    throw new Error(`cannot load the 'webgpu' package: ${(e as Error).message.split('\n')[0]}`);
  }
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(dawn.globals)) if (g[k] === undefined) g[k] = v;
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    const icd = process.env.VK_ICD_FILENAMES;
    throw new Error(`no WebGPU adapter${icd ? ` (VK_ICD_FILENAMES=${icd})` : ''}: install a Vulkan driver, or 'apt-get install libvulkan1 chromium' for SwiftShader`);
  }
  // Node 20 has no navigator; Node 21+ has one without a gpu property.
  const nav = g.navigator as Record<string, unknown> | undefined;
  if (!nav) g.navigator = { gpu };
  else Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, enumerable: true });
  installed = { gpu, adapter: describeAdapter(adapter.info) };
  return installed;
}
