/**
 * The source seam: anything that yields records in order and can remember how far a consumer got.
 * The local spools (client, server logs, Blob intake) implement it today. The Kafka seam: a consumer
 * group member implements the same calls (read = poll from its fetch position, commit = commit
 * offsets), and the consumer loop, handlers and sinks do not change.
 */
export interface SourceRecord<P> {
  position: P;
  /** Where the record after this one starts: committing it marks this record as handled. */
  next: P;
  payload: Buffer;
}

export interface RecordSource<P> {
  /** Where the consumer resumes: the position after the last committed record. */
  committed(): P;
  /**
   * Up to `max` records after the last one read (right after open: from the committed position);
   * [] when there is nothing new. The consumer keeps what it read until it commits, so a retry
   * never needs to read the same records again.
   */
  read(max: number): Promise<SourceRecord<P>[]>;
  /** Durably records that everything before `next` was handled. */
  commit(next: P): Promise<void>;
  close(): Promise<void>;
}

/** What a handler says about the records it was given; anything but `done` keeps the checkpoint where it is. */
export type HandleResult = 'done' | 'retry' | { retryAfterMs: number };

export type RecordHandler<P> = (records: SourceRecord<P>[]) => Promise<HandleResult>;

export interface ConsumerStats<P> {
  name: string;
  /** Undefined until start() opened the source. */
  position: P | undefined;
  /** Records handled and committed since start. */
  records: number;
  /** Handler answers other than `done` (and handler exceptions): each one costs a backoff. */
  retries: number;
  /** Failed reads or checkpoint commits. */
  sourceErrors: number;
  lastError: string | undefined;
  running: boolean;
}

export interface Consumer<P> {
  readonly name: string;
  /** Opens the source and starts the loop in the background. */
  start(): Promise<void>;
  /** Lets the in-flight step finish (handle + commit), then stops; records not committed are delivered again next start. */
  stop(): Promise<void>;
  position(): P;
  stats(): ConsumerStats<P>;
}

/**
 * Bulk-insert sinks (ClickHouse, Log Analytics) want thousands of rows per call, not one client
 * batch: the consumer keeps reading until one of these limits is reached, then hands over.
 */
export interface LingerOptions {
  /** Most records per hand-over (also the read size). */
  maxRecords: number;
  /** Hand over once the payloads add up to this many bytes. */
  maxBytes: number;
  /** Longest wait for more records after the first one arrived, ms. */
  maxWaitMs: number;
  /**
   * Hand-overs given to the handler before the oldest is answered (default 1: one answered before
   * the next); only for sinks whose exports may overlap. Checkpoints still advance in order.
   */
  handOversInFlight?: number;
}
