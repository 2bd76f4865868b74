/** What a contender builds for a workload: a step to time, and a description of what runs. */
export interface Session {
  info: string;
  /** The WebGPU adapter (webgpu contenders). */
  adapter?: string;
  /** One step (training step, inference batch, matmul, or epoch); returns extra numbers if any. */
  step(): Promise<Record<string, number> | void>;
  dispose(): void;
}
