import type { BucketSize } from '../series.js';

/**
 * The geometry of the dashboards' charts, apart from their markup: plot box, scales, ticks and the
 * labels of bucket times (UTC, like every time the dashboards show).
 */

export interface Box {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const CHART_BOX: Box = { width: 960, height: 220, left: 44, right: 12, top: 12, bottom: 26 };
export const SPARK_BOX: Box = { width: 120, height: 24, left: 1, right: 1, top: 2, bottom: 2 };

/** Rounds to one decimal: coordinates stay short in the markup. */
export const round = (n: number): number => Math.round(n * 10) / 10;

/** A "nice" ceiling for the y axis (1, 2, 2.5 or 5 times a power of ten), never below 1. */
export function niceMax(max: number): number {
  if (!(max > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (max <= step * power) return step * power;
  return 10 * power;
}

/** Y ticks from 0 to `top` at a whole, "nice" step (1, 2 or 5 times a power of ten), at most count + 1. */
export function yTicks(top: number, count = 4): number[] {
  const raw = Math.max(1, top / count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step =
    [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw && Number.isInteger(s)) ?? 10 * power;
  const ticks: number[] = [];
  for (let value = 0; value <= top; value += step) ticks.push(value);
  return ticks;
}

/** Scales of a plot over `n` buckets: x at the centre of each bucket, y from 0 to `top`. */
export interface Scales {
  step: number;
  x(i: number): number;
  /** The x of a time inside the axis, `first` the first bucket start. */
  xAt(ts: number): number;
  y(value: number): number;
  top: number;
}

export function scales(box: Box, n: number, max: number, first: number, bucketMs: number): Scales {
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const step = plotW / Math.max(1, n);
  const top = niceMax(max);
  return {
    step,
    top,
    x: (i) => round(box.left + (i + 0.5) * step),
    xAt: (ts) => round(box.left + Math.min(n, Math.max(0, (ts - first) / bucketMs)) * step),
    y: (value) => round(box.top + plotH - (Math.max(0, value) / top) * plotH),
  };
}

/** Indexes of the buckets that get an x label: at most `count`, evenly spread, the first included. */
export function xTickIndexes(n: number, count = 6): number[] {
  if (n <= 0) return [];
  const every = Math.max(1, Math.ceil(n / count));
  const out: number[] = [];
  for (let i = 0; i < n; i += every) out.push(i);
  return out;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** A bucket's short label: `14:00` for hours (with the date at midnight), `12-01` for days. */
export function bucketLabel(start: number, bucket: BucketSize): string {
  const d = new Date(start);
  const day = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (bucket === 'day') return day;
  return d.getUTCHours() === 0 ? day : `${pad(d.getUTCHours())}:00`;
}

/** A bucket in full, for titles and the data table: `2026-12-01 14:00 UTC` or `2026-12-01`. */
export function bucketText(start: number, bucket: BucketSize): string {
  const iso = new Date(start).toISOString();
  return bucket === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export const per = (bucket: BucketSize): string => (bucket === 'day' ? 'per day' : 'per hour');
