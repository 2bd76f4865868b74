/** Command-line options of `pnpm bench`. */

export const USAGE = `usage: pnpm bench [--model lenet|alexnet|all] [--mode train|infer|all] [--backend cpu[,cpu-portable,...]]
                  [--against tfjs-cpu,tfjs-wasm,pytorch] [--json FILE] [--quick] [--data-dir DIR]

  --model    which networks (default all; 'all' with --mode all adds the 2048² matmul and the epoch)
  --mode     training steps, inference batches, or both (default all)
  --backend  Kindling devices to measure (default cpu). 'cpu-portable' is the cpu backend with
             KINDLING_CPU_NATIVE=0 (the TypeScript path); other names load @kindling/backend-<name>
  --against  anchors (default tfjs-cpu,tfjs-wasm,pytorch); 'none' for none
  --json     also write every number (and the machine, versions, command) to FILE
  --quick    a short run: fewer, shorter rounds (indicative numbers)
  --data-dir where Fashion-MNIST lives (default: $KINDLING_DATA_DIR, then the usual places)`;

export type Anchor = 'tfjs-cpu' | 'tfjs-wasm' | 'pytorch';
export const ANCHORS: readonly Anchor[] = ['tfjs-cpu', 'tfjs-wasm', 'pytorch'];

export interface BenchOptions {
  model: 'lenet' | 'alexnet' | 'all';
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
  const o: BenchOptions = { model: 'all', mode: 'all', backends: ['cpu'], against: [...ANCHORS], json: null, quick: false, dataDir: null, help: false };
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
        if (v !== 'lenet' && v !== 'alexnet' && v !== 'all') throw new Error(`--model must be lenet, alexnet or all, got '${v}'`);
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
          o.against = [];
          break;
        }
        for (const x of v) if (!ANCHORS.includes(x as Anchor)) throw new Error(`--against: unknown anchor '${x}' (choose from ${ANCHORS.join(', ')})`);
        o.against = v as Anchor[];
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
  return o;
}
