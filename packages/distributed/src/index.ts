/**
 * @kindling/distributed: torch.distributed's programming model. Process groups over Gloo (CPU
 * collectives, any backend's tensors read back to the host) with a TCP rendezvous store on rank 0,
 * NCCL's run-time probe, DistributedDataParallel, and the kindling-run launcher (dist/run.js).
 */
import type { Tensor } from '@kindling/core';
import { defaultGroup, type ReduceOp, type Work } from './process-group.js';

export { DistributedError } from './errors.js';
export { TCPStore, TCPStoreServer } from './store.js';
export {
  ProcessGroup,
  Work,
  initProcessGroup,
  destroyProcessGroup,
  isInitialized,
  getRank,
  getWorldSize,
  ncclStatus,
  type Backend,
  type ReduceOp,
  type InitOptions,
} from './process-group.js';
export { nativeStatus } from './native.js';
export { DistributedDataParallel, type DDPOptions } from './ddp.js';

// The collectives on the default group, as torch.distributed's free functions.
export const allReduce = (t: Tensor, op: ReduceOp = 'sum'): Work => defaultGroup('allReduce').allReduce(t, op);
export const broadcast = (t: Tensor, src = 0): Work => defaultGroup('broadcast').broadcast(t, src);
export const allGather = (outputs: Tensor[], input: Tensor): Work => defaultGroup('allGather').allGather(outputs, input);
export const reduceScatter = (output: Tensor, inputs: Tensor[], op: ReduceOp = 'sum'): Work => defaultGroup('reduceScatter').reduceScatter(output, inputs, op);
export const barrier = (): Work => defaultGroup('barrier').barrier();
