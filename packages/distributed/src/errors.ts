import { KindlingError } from '@kindling/core';

/** Errors of process groups, collectives, the store and the launcher: "op: message". */
export class DistributedError extends KindlingError {
  override name = 'DistributedError';
}
