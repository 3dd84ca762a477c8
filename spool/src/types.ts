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
  /** Seal the active segment at the next append once it is this old. Default 1 h. */
  segmentMaxAgeMs?: number;
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
}

export interface SpoolWriter {
  /** The spool directory, so a reader can be opened on the same spool. */
  readonly dir: string;
  /** Resolves only after the record is fsync'd; concurrent appends share one fsync (group commit). */
  append(payload: Buffer): Promise<SpoolPosition>;
  /** Called after each fsync'd group; returns an unsubscribe function. */
  onAppend(listener: () => void): () => void;
  /** Deletes whole sealed segments whose sequence number is below `segment`. */
  removeSegmentsBefore(segment: number): Promise<number>;
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
