/**
 * @kindling/data — datasets, the DataLoader, transforms and the MNIST family for Kindling.
 *
 * Layers: everything except DataLoader / toTensors / defaultCollate works on plain typed arrays
 * (HostArray, RawBatch) and runs without a tensor backend; DataLoader wraps batches into
 * @kindling/core tensors (x float32, y int32 — int32 where PyTorch uses int64).
 * Node-only parts (files, downloads, worker threads) load their Node modules lazily, so the
 * package also imports in a browser, where batches are built on the main thread.
 */
export { DataFileError, DatasetNotFoundError, DownloadError } from './errors.js';
export {
  drawSeed, RandomStream, randomSeed, STREAM_AUGMENT, STREAM_DATASET, STREAM_SHUFFLE, type CounterGenerator, type SeedSource,
} from './random.js';
export { fmtShape, isHostArray, numel, type HostArray, type HostData, type Image, type RawBatch } from './types.js';
export {
  bilinearAxisWeights, Compose, hflip, Lambda, Normalize, RandomHorizontalFlip, Resize, resizePlanes, ToTensor,
  transformFromSpec, unserializableTransform,
  type AxisWeights, type Transform, type TransformFn, type TransformSpec,
} from './transforms.js';
export { decodeIdx, encodeIdx, gunzip, idxAnnouncedBytes, isGzip, parseIdx, readIdx, type GunzipLimit, type IdxArray } from './idx.js';
export {
  assembleBatch, collateArrays, sampleGenerator, sampleView, type ArraySource, type BatchContext,
} from './batch.js';
export {
  Dataset, InMemoryDataset, TensorDataset,
  type InMemoryOptions, type Sample, type TensorLike, type WorkerInit,
} from './dataset.js';
export { BatchLoader, type LoaderHooks, type LoaderOptions, type LoaderState } from './loader.js';
export { DataLoader, defaultCollate, toTensors } from './dataloader.js';
export { DistributedSampler, type DistributedSamplerOptions, type Sampler } from './distributed-sampler.js';
export { downloadFile, ensureFiles, md5File, type DownloadOptions, type RemoteFile } from './download.js';
export {
  downloadDir, FASHION_MNIST, FashionMNIST, loadMnistParts, MNIST, MNIST_SPEC, MnistDataset, readMnistFiles, searchPaths,
  splitFiles, type MnistOptions, type MnistParts, type MnistSpec,
} from './mnist.js';
