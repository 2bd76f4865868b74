/** Command-line options of `pnpm bench`. */

export const USAGE = `usage: pnpm bench [--model lenet|alexnet|matmul|all] [--mode train|infer|all] [--backend cpu[,cpu-portable,webgpu,...]]
                  [--against tfjs-cpu,tfjs-wasm,tfjs-webgpu,pytorch] [--json FILE] [--quick] [--data-dir DIR]

  --model    which networks (default all; 'all' with --mode all adds the 2048² matmul and the epoch;
             'matmul' is the 2048² matmul alone, whatever --mode)
  --mode     training steps, inference batches, or both (default all)
  --backend  Kindling devices to measure (default cpu). 'cpu-portable' is the cpu backend with
             KINDLING_CPU_NATIVE=0 (the TypeScript path); other names load @kindling/backend-<name>
             (webgpu: Dawn from the 'webgpu' package; SwiftShader on a machine without a GPU)
  --against  anchors (default tfjs-cpu,tfjs-wasm,pytorch, plus tfjs-webgpu when --backend has webgpu);
             tfjs-webgpu is tfjs-backend-webgpu on the same Dawn adapter; 'none' for none
  --json     where to write every number (and the machine, versions, command); default
             runs/bench/bench-<date>.json in the repository (git-ignored)
  --quick    a short run: fewer, shorter rounds (indicative numbers)
  --data-dir where Fashion-MNIST lives (default: $KINDLING_DATA_DIR, then the usual places)`;

export type Anchor = 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-webgpu' | 'pytorch';
/** Every anchor --against accepts. */
export const ANCHORS: readonly Anchor[] = ['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu', 'pytorch'];
/** The anchors without --against; tfjs-webgpu joins them when --backend includes webgpu. */
export const DEFAULT_ANCHORS: readonly Anchor[] = ['tfjs-cpu', 'tfjs-wasm', 'pytorch'];

/** The default anchors for these Kindling backends. */
export function defaultAnchors(backends: readonly string[]): Anchor[] {
  const webgpu = backends.some((b) => b.split(':')[0] === 'webgpu');
  return webgpu ? [...DEFAULT_ANCHORS.slice(0, 2), 'tfjs-webgpu', ...DEFAULT_ANCHORS.slice(2)] : [...DEFAULT_ANCHORS];
}

export interface BenchOptions {
  model: 'lenet' | 'alexnet' | 'matmul' | 'all';
  mode: 'train' | 'infer' | 'all';
  backends: string[];
  against: Anchor[];
  json: string | null;
  quick: boolean;
  dataDir: string | null;
  help: boolean;
}

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = { model: 'all', mode: 'all', backends: ['cpu'], against: [], json: null, quick: false, dataDir: null, help: false };
  let against: Anchor[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--model': {
        const v = value();
        if (v !== 'lenet' && v !== 'alexnet' && v !== 'matmul' && v !== 'all') throw new Error(`--model must be lenet, alexnet, matmul or all, got '${v}'`);
        o.model = v;
        break;
      }
      case '--mode': {
        const v = value();
        if (v !== 'train' && v !== 'infer' && v !== 'all') throw new Error(`--mode must be train, infer or all, got '${v}'`);
        o.mode = v;
        break;
      }
      case '--backend':
        o.backends = list(value());
        if (o.backends.length === 0) throw new Error('--backend needs at least one device');
        break;
      case '--against': {
        const v = list(value());
        if (v.length === 1 && v[0] === 'none') {
          against = [];
          break;
        }
        for (const x of v) if (!ANCHORS.includes(x as Anchor)) throw new Error(`--against: unknown anchor '${x}' (choose from ${ANCHORS.join(', ')})`);
        against = [...new Set(v)] as Anchor[];
        break;
      }
      case '--json':
        o.json = value();
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--data-dir':
        o.dataDir = value();
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new Error(`unknown option '${a}'\n${USAGE}`);
    }
  }
  o.against = against ?? defaultAnchors(o.backends);
  return o;
}
