/**
 * The source seam: anything that yields records in order and can remember how far a consumer got.
 * The local spool is the first; a Kafka consumer group (offsets) or a Blob container (a listing
 * cursor) implement the same two calls, and the consumer loop does not change.
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
  /** Up to `max` records from the committed position; [] when there is nothing new. */
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
