import { createHash } from 'node:crypto';
import { LIMITS } from '@telltale/protocol';
import { parseStack, type StackFrame } from './stack.js';

/** Frames that define an error group: enough to tell call sites apart, few enough to survive refactors below them. */
const FINGERPRINT_FRAMES = 3;

export interface FingerprintInput {
  type: string;
  message: string;
  stack?: string | undefined;
  /** Chosen by the app: overrides grouping. */
  fingerprint?: string | undefined;
  /** The stack's frames after symbolication (original functions and files); used instead of parsing `stack`. */
  frames?: readonly StackFrame[] | undefined;
}

function sha256Hex32(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

// A build's content hash: all-hex, or letters mixed with digits (webpack, Vite, esbuild, Rollup), 8+ chars.
function isContentHash(segment: string): boolean {
  if (segment.length < 8 || !/^[A-Za-z0-9_]+$/.test(segment)) return false;
  return (
    /^[0-9a-f]+$/i.test(segment) ||
    (/\d/.test(segment) && /[A-Za-z]/.test(segment)) ||
    /^[A-Z2-7]{8}$/.test(segment)
  );
}

/**
 * The part of a script URL that is the same in every build and on every host:
 * no origin, query or fragment, no content hash in the file name.
 */
export function normaliseFilePath(file: string): string {
  let result = file.replace(/[?#].*/s, '');
  result = result.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, ''); // https://cdn.example.com, webpack://app
  const slash = result.lastIndexOf('/');
  const dir = result.slice(0, slash + 1);
  const base = result.slice(slash + 1);
  const parts = base.split(/([.-])/); // keep separators so the name can be rebuilt
  const kept: string[] = [];
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i] ?? '';
    const previous = kept[kept.length - 1];
    // A hash sits between a separator and the extension: `app.3f9a2c1b.js`, `chunk-ABCD1234.js`.
    if ((previous === '.' || previous === '-') && i < parts.length - 1 && isContentHash(part)) {
      kept.pop();
      continue;
    }
    kept.push(part);
  }
  return dir + kept.join('');
}

// Quoted strings, scanned by hand: as a regex (`"(?:[^"\\]|\\.)*"`), every escaped quote of an unclosed
// string starts a rescan to the end. A scan that fails from one quote fails from every later quote of
// the same kind before its failure point (they sit inside escapes, in phase with it), so those are skipped.
function replaceQuoted(text: string): string {
  const failedBefore: Record<string, number> = { '"': -1, "'": -1, '`': -1 };
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i += 1) {
    const quote = text[i] ?? '';
    const failed = failedBefore[quote];
    if (failed === undefined || i < failed) continue;
    let j = i + 1;
    let closed = -1;
    while (j < text.length) {
      const c = text[j];
      if (c === quote) {
        closed = j;
        break;
      }
      if (c === '\\') {
        // `\\.` does not match a line terminator, so the string cannot go on.
        const next = text[j + 1];
        if (next === undefined || next === '\n' || next === '\r' || next === '\u2028' || next === '\u2029')
          break;
        j += 2;
      } else j += 1;
    }
    if (closed < 0) {
      failedBefore[quote] = j;
      continue;
    }
    out += `${text.slice(copied, i)}<str>`;
    copied = closed + 1;
    i = closed;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Replaces the parts of a message that vary per occurrence (ids, numbers, values) with placeholders. */
export function normaliseMessage(message: string): string {
  // Lookbehinds: a match starts where a run of its characters starts, so a long run is scanned once.
  const text = message
    .slice(0, LIMITS.maxStringLength)
    .replace(/(?<![\w+.-])[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>')
    .replace(/(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g, '<email>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(
      /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g,
      '<date>',
    )
    .replace(/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g, '<ip>');
  return replaceQuoted(text)
    .replace(/\b0x[0-9a-f]+\b/gi, '<hex>')
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/\d+(?:\.\d+)?/g, '<num>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The frames that identify where an error comes from: the top in-app frames, else the top frames of any kind. */
export function groupingFrames(frames: readonly StackFrame[]): StackFrame[] {
  const usable = frames.filter((f) => f.file !== undefined && f.line !== undefined);
  const inApp = usable.filter((f) => f.inApp);
  // An error raised inside a library (no app frame at all) still groups by where it was raised.
  return (inApp.length > 0 ? inApp : usable).slice(0, FINGERPRINT_FRAMES);
}

/**
 * Groups occurrences of the same bug: stable across releases (content hashes, line and column
 * numbers ignored), distinct for different call sites. Returns 32 lowercase hex characters.
 */
export function fingerprintError(input: FingerprintInput): string {
  // The app's own fingerprint is hashed too, so every fingerprint is URL-safe and of one shape.
  if (input.fingerprint !== undefined && input.fingerprint !== '')
    return sha256Hex32(`custom\n${input.fingerprint}`);
  const frames = groupingFrames(input.frames ?? parseStack(input.stack));
  if (frames.length > 0) {
    const lines = frames.map((f) => `${f.function ?? '?'}|${normaliseFilePath(f.file ?? '')}`);
    return sha256Hex32(`frames\n${input.type}\n${lines.join('\n')}`);
  }
  return sha256Hex32(`message\n${input.type}\n${normaliseMessage(input.message)}`);
}
