/**
 * The workloads the bench measures, with the sizes the issue fixes. A "step" is the unit each
 * contender times: one training step, one inference batch, one matmul, or one whole epoch.
 */

export type WorkloadId = 'lenet-train' | 'user-loop' | 'lenet-infer' | 'alexnet-train' | 'matmul' | 'epoch';

export interface Workload {
  id: WorkloadId;
  title: string;
  model: 'lenet' | 'alexnet' | 'matmul';
  /** Images per step (or matrix size for matmul). */
  batch: number;
  /** What one step counts towards the throughput: images, or floating-point operations. */
  itemsPerStep: number;
  unit: 'img/s' | 'GFLOP/s';
  /** Full run: warm-up steps, rounds, at most this many steps per contender per round. */
  warmup: number;
  rounds: number;
  maxSteps: number;
  /** A contender's turn in a round ends after this many seconds (at least one step). */
  minSeconds: number;
}

/** Fashion-MNIST's training split. */
export const EPOCH_IMAGES = 60000;
export const MATMUL_N = 2048;

export const WORKLOADS: Record<WorkloadId, Workload> = {
  'lenet-train': {
    id: 'lenet-train', title: 'LeNet train, batch 256', model: 'lenet', batch: 256, itemsPerStep: 256, unit: 'img/s',
    warmup: 5, rounds: 5, maxSteps: 20, minSeconds: 0.5,
  },
  // The seed's loop as a PyTorch user writes it (issue 13): a DataLoader over the real
  // Fashion-MNIST, `.to(device)`, loss and accuracy read back every step, no tidy or dispose.
  // Beside lenet-train (the trainer's tidy step on a fixed batch); it also reports peak live bytes.
  'user-loop': {
    id: 'user-loop', title: "user loop: the seed's LeNet loop, batch 256 (DataLoader, .to(device), loss + accuracy read back, no tidy)",
    model: 'lenet', batch: 256, itemsPerStep: 256, unit: 'img/s',
    warmup: 5, rounds: 5, maxSteps: 20, minSeconds: 0.5,
  },
  'lenet-infer': {
    id: 'lenet-infer', title: 'LeNet inference, batch 1000', model: 'lenet', batch: 1000, itemsPerStep: 1000, unit: 'img/s',
    warmup: 5, rounds: 5, maxSteps: 20, minSeconds: 0.5,
  },
  'alexnet-train': {
    id: 'alexnet-train', title: 'AlexNet train, batch 32 (1×224×224)', model: 'alexnet', batch: 32, itemsPerStep: 32, unit: 'img/s',
    warmup: 1, rounds: 4, maxSteps: 3, minSeconds: 2,
  },
  matmul: {
    id: 'matmul', title: `matmul ${MATMUL_N}×${MATMUL_N} f32`, model: 'matmul', batch: MATMUL_N, itemsPerStep: 2 * MATMUL_N ** 3 / 1e9, unit: 'GFLOP/s',
    warmup: 3, rounds: 5, maxSteps: 10, minSeconds: 0.5,
  },
  epoch: {
    id: 'epoch', title: 'Fashion-MNIST LeNet epoch, batch 256, data loading included', model: 'lenet', batch: 256, itemsPerStep: EPOCH_IMAGES, unit: 'img/s',
    warmup: 0, rounds: 3, maxSteps: 1, minSeconds: 0,
  },
};

/** --quick: fewer and shorter rounds (the numbers are then indicative only). */
export function quickened(w: Workload): Workload {
  if (w.id === 'epoch') return { ...w, rounds: 1 };
  return { ...w, warmup: Math.min(w.warmup, 2), rounds: Math.min(w.rounds, 2), maxSteps: Math.min(w.maxSteps, w.id === 'alexnet-train' ? 1 : 5), minSeconds: Math.min(w.minSeconds, 0.3) };
}

/** The workload ids a --model / --mode selection picks, in run order. */
export function selectWorkloads(model: string, mode: string): WorkloadId[] {
  const ids: WorkloadId[] = [];
  const lenet = model === 'lenet' || model === 'all';
  const alex = model === 'alexnet' || model === 'all';
  const train = mode === 'train' || mode === 'all';
  const infer = mode === 'infer' || mode === 'all';
  if (lenet && train) ids.push('lenet-train', 'user-loop');
  if (lenet && infer) ids.push('lenet-infer');
  if (alex && train) ids.push('alexnet-train');
  if (model === 'matmul') ids.push('matmul');
  if (model === 'all' && mode === 'all') ids.push('matmul', 'epoch');
  return ids;
}
