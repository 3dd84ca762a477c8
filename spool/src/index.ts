export type {
  SpoolPosition,
  SpoolRecord,
  SpoolWriterOptions,
  SpoolWriterStats,
  SpoolWriter,
  SpoolReader,
  SpoolReaderStats,
  Checkpoint,
} from './types.js';
export {
  openSpoolWriter,
  SpoolFullError,
  DEFAULT_SEGMENT_MAX_BYTES,
  DEFAULT_SEGMENT_MAX_AGE_MS,
} from './writer.js';
export { FSYNC_BUCKETS_SECONDS, type LatencyHistogram } from './histogram.js';
export { openSpoolReader } from './reader.js';
export { openCheckpoint } from './checkpoint.js';
export {
  listSegments,
  fsyncDir,
  mkdirDurable,
  writeFileDurably,
  tightenMode,
  PRIVATE_FILE_MODE,
  PRIVATE_DIR_MODE,
  type SegmentInfo,
} from './fs-util.js';
export { MAX_RECORD_BYTES, segmentFileName } from './format.js';
export { workerFile, withoutTsLoader, type WorkerFileOptions } from './worker-file.js';
