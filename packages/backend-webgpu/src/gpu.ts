/**
 * Environment glue: where a GPU object comes from, in a browser or in Node, and how we get an
 * adapter and a device out of it. Nothing else in the package knows which environment it runs in:
 * the kernels only see a GPUDevice.
 *
 *  1. `navigator.gpu` (browsers, Deno, and Node when a caller installed a WebGPU global).
 *  2. Node: the `webgpu` npm package (Dawn), imported dynamically through a variable specifier so
 *     that browser bundlers do not follow it. Its `create([])` gives a GPU object and `globals`
 *     the WebGPU constants (GPUBufferUsage, ...), which we install on globalThis when missing.
 *  3. Otherwise WebGPU is unavailable, with a message that says what to install or set.
 *
 * SwiftShader in Node: Dawn talks to Vulkan. On a machine without a GPU, Debian's `chromium`
 * package ships a software Vulkan driver (SwiftShader) at /usr/lib/chromium/libvk_swiftshader.so
 * with its ICD manifest beside it. When VK_ICD_FILENAMES is unset and that manifest exists, we
 * point VK_ICD_FILENAMES at it — directly when the machine has no GPU device node (/dev/dri/render*,
 * /dev/nvidia*), else only after the native drivers gave no adapter — so `npm i webgpu` plus
 * `apt-get install libvulkan1 chromium` is all a GPU-less machine needs. A VK_ICD_FILENAMES that
 * is already set is never touched.
 */

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** What to tell a user whose environment has no WebGPU adapter. */
export const INSTALL_HINT =
  "in Node install the 'webgpu' package plus a Vulkan driver: a GPU driver, or for software rendering " +
  `'apt-get install libvulkan1 chromium' (SwiftShader) with VK_ICD_FILENAMES=${SWIFTSHADER_ICD} ` +
  '(set automatically when unset); in a browser use one with WebGPU enabled (Chrome/Edge 113+, ' +
  'or --enable-unsafe-webgpu)';

interface NodeProcessLike {
  versions?: { node?: string };
  env: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

function nodeProcess(): NodeProcessLike | null {
  const p = (globalThis as { process?: NodeProcessLike }).process;
  return p && p.versions?.node ? p : null;
}

function navigatorGpu(): GPU | null {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? null;
}

/**
 * A cheap synchronous guess, used before init(): is there anything that could give us an adapter?
 * Returns null when navigator.gpu exists or the `webgpu` module resolves, else the reason.
 */
export function environmentProblem(): string | null {
  if (navigatorGpu()) return null;
  const proc = nodeProcess();
  if (!proc) return `navigator.gpu is missing: ${INSTALL_HINT}`;
  const mod = proc.getBuiltinModule?.('module') as { createRequire?: (url: string) => { resolve(id: string): string } } | undefined;
  if (mod?.createRequire) {
    try {
      mod.createRequire(import.meta.url).resolve('webgpu');
      return null;
    } catch {
      return `the 'webgpu' package is not installed: ${INSTALL_HINT}`;
    }
  }
  return null; // cannot tell synchronously: init() will say
}

/** Whether this Linux machine shows a GPU device node (else trying native Vulkan drivers is pointless). */
function hasGpuDeviceNode(fs: { readdirSync(p: string): string[] }): boolean {
  try {
    if (fs.readdirSync('/dev/dri').some((f) => f.startsWith('render'))) return true;
  } catch {
    /* no /dev/dri */
  }
  try {
    return fs.readdirSync('/dev').some((f) => /^nvidia\d+$/.test(f));
  } catch {
    return false;
  }
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

async function importDawn(): Promise<DawnModule> {
  // A variable specifier: bundlers for the browser leave it alone instead of packing Dawn.
  const name = 'webgpu';
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as DawnModule;
}

function installGlobals(globals: Record<string, unknown>): void {
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(globals)) if (g[k] === undefined) g[k] = v;
}

export interface AdapterAndDevice {
  /**
   * The GPU object the adapter came from. Keep it referenced for as long as the device is used:
   * dawn.node tears its instance down when this object is garbage-collected, and the device dies
   * with it (crashes or a silently exiting process, not an error).
   */
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  origin: string;
  notes: string[];
}

/** Limits we raise to what the adapter offers (the defaults are much lower than most hardware). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
] as const;

async function deviceFrom(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  return adapter.requestDevice({ requiredLimits, requiredFeatures });
}

/**
 * Finds a GPU, an adapter and a device, or throws an Error whose message says what is missing.
 * `powerPreference` 'high-performance' asks for the discrete GPU on laptops.
 */
export async function requestAdapterAndDevice(): Promise<AdapterAndDevice> {
  const notes: string[] = [];
  const nav = navigatorGpu();
  if (nav) {
    const adapter = await nav.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error(`no WebGPU adapter: navigator.gpu.requestAdapter() returned null; ${INSTALL_HINT}`);
    return { gpu: nav, adapter, device: await deviceFrom(adapter), origin: 'navigator.gpu', notes };
  }
  const proc = nodeProcess();
  if (!proc) throw new Error(`navigator.gpu is missing: ${INSTALL_HINT}`);
  let dawn: DawnModule;
  try {
    dawn = await importDawn();
  } catch (e) {
    throw new Error(`cannot load the 'webgpu' package (${(e as Error).message.split('\n')[0]}): ${INSTALL_HINT}`);
  }
  installGlobals(dawn.globals);
  const fs = proc.getBuiltinModule?.('fs') as { existsSync(p: string): boolean; readdirSync(p: string): string[] } | undefined;
  const canUseSwiftShader = proc.env.VK_ICD_FILENAMES === undefined && !!fs?.existsSync(SWIFTSHADER_ICD);
  const useSwiftShader = (): void => {
    proc.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    notes.push(`VK_ICD_FILENAMES was unset: using SwiftShader (${SWIFTSHADER_ICD})`);
  };
  // With no GPU device node the native drivers cannot give an adapter (and some print warnings trying).
  if (canUseSwiftShader && fs && !hasGpuDeviceNode(fs)) useSwiftShader();
  let gpu = dawn.create([]);
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter && canUseSwiftShader && proc.env.VK_ICD_FILENAMES === undefined) {
    useSwiftShader();
    gpu = dawn.create([]); // a new instance reads VK_ICD_FILENAMES again
    adapter = await gpu.requestAdapter();
  }
  if (!adapter) {
    const icd = proc.env.VK_ICD_FILENAMES;
    throw new Error(`no WebGPU adapter${icd ? ` (VK_ICD_FILENAMES=${icd})` : ''}: ${INSTALL_HINT}`);
  }
  return { gpu, adapter, device: await deviceFrom(adapter), origin: 'webgpu (Dawn)', notes };
}
