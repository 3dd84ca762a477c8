import type { LatencyHistogram } from './histogram.js';

/** A place in the spool: segment sequence number and byte offset within that segment's file. */
export interface SpoolPosition {
  segment: number;
  offset: number;
}

/** One complete, CRC-valid record; `next` is where the following record starts (commit it once handled). */
export interface SpoolRecord {
  position: SpoolPosition;
  next: SpoolPosition;
  payload: Buffer;
}

export interface SpoolWriterOptions {
  /** Directory of the segment files; created if missing. */
  dir: string;
  /** Seal the active segment once it would grow past this many bytes. Default 64 MiB. */
  segmentMaxBytes?: number;
  /** Seal the active segment once it is this old: at the next append, or by a timer when idle. Default 1 h. */
  segmentMaxAgeMs?: number;
  /**
   * Disk cap: an append that would take the segment files past this many bytes is refused with a
   * SpoolFullError (nothing acknowledged is ever dropped to make room). Default: no cap.
   */
  maxTotalBytes?: number;
}

export interface SpoolWriterStats {
  /** Segment files present (sealed and active). */
  segments: number;
  /** Bytes of all segment files present. */
  bytes: number;
  /** Records appended by this writer since it was opened. */
  records: number;
  /** fdatasync calls made for appends since open (group commit keeps this below `records`). */
  fsyncs: number;
  /** Bytes of torn tail cut from the newest segment when this writer opened. */
  truncatedBytes: number;
  /** The disk cap (`maxTotalBytes`), or null without one. */
  maxTotalBytes: number | null;
  /** Appends refused because the spool was at its disk cap, since open. */
  refusedFull: number;
  /** False after a failed write or fsync, until the next group is written and fsync'd. */
  writable: boolean;
  /** fdatasync latency of append groups since open. */
  fsyncLatency: LatencyHistogram;
}

export interface SpoolWriter {
  /** The spool directory, so a reader can be opened on the same spool. */
  readonly dir: string;
  /**
   * Resolves only after the record is fsync'd; concurrent appends share one fsync (group commit).
   * Rejects with SpoolFullError, before writing anything, when the record would pass the disk cap.
   */
  append(payload: Buffer): Promise<SpoolPosition>;
  /**
   * True when an append of `payloadBytes` would be refused by the disk cap right now. Once an append
   * was refused, true for any size until removeSegmentsBefore frees space.
   */
  isFull(payloadBytes?: number): boolean;
  /** Called after each fsync'd group; returns an unsubscribe function. */
  onAppend(listener: () => void): () => void;
  /** Deletes whole sealed segments whose sequence number is below `segment`. */
  removeSegmentsBefore(segment: number): Promise<number>;
  /** Called with the segment numbers removeSegmentsBefore deleted (to keep per-segment tallies); returns an unsubscribe function. */
  onRemove?(listener: (segments: number[]) => void): () => void;
  stats(): SpoolWriterStats;
  close(): Promise<void>;
}

export interface SpoolReaderStats {
  /** Times a corrupt or cut-short record in a sealed segment made the reader skip to the next segment. */
  corruptSkips: number;
  /** Bytes left unread by those skips. */
  bytesSkipped: number;
}

export interface SpoolReader {
  /** Up to maxRecords complete, CRC-valid records from `from`; [] when nothing new yet.
   *  {segment: 0, offset: 0} means "from the oldest segment". Moves past the end of sealed segments. */
  read(from: SpoolPosition, maxRecords: number): Promise<SpoolRecord[]>;
  stats(): SpoolReaderStats;
}

export interface Checkpoint {
  readonly position: SpoolPosition;
  commit(position: SpoolPosition): Promise<void>;
}
