import { LIMITS, stripDebugIdMarkers } from '@telltale/protocol';

/**
 * One frame of a JavaScript stack trace, as V8 (Chrome, Edge, Node, React Native), SpiderMonkey
 * (Firefox), JavaScriptCore (Safari, React Native on iOS) or Hermes (React Native) print it.
 */
export interface StackFrame {
  /** Function name without `async ` / `new ` prefixes and Firefox's `/<` suffixes; undefined when anonymous. */
  function: string | undefined;
  /** Script URL or path as printed; undefined for native frames. */
  file: string | undefined;
  line: number | undefined;
  column: number | undefined;
  /** False for library code (node_modules, vendor chunks), browser extensions and native frames. */
  inApp: boolean;
  /** Hermes bytecode frames (`address at …`): `column` is a 0-based bytecode offset, not a 1-based column. */
  bytecode?: true;
}

// Caps before any pattern sees the text: a frame longer than this is not one an engine prints, and no
// engine prints more frames (V8's default is 10, SpiderMonkey's 128).
const MAX_STACK_CHARS = LIMITS.maxStringLength;
const MAX_FRAME_CHARS = 1024;
const MAX_FRAMES = 256;

// No `\s*$` tail after a lazy run (quadratic on a line of spaces): the capture is trimmed instead.
const CHROME_FRAME = /^\s*at\s+(\S.*)/s;
const LOCATION = /^(.*?)(?::(\d+))?(?::(\d+))?$/;
// Firefox eval frames print `file line 2 > eval:1:1`; the script is what precedes " line N > ".
const FIREFOX_EVAL = /^(.*?) line (\d+) > (?:eval|Function)/;
const CHROME_EVAL = /\(([^\s(]+?):(\d+):(\d+)\)/;

const LIBRARY_PATTERNS: readonly RegExp[] = [
  /[/\\]node_modules[/\\]/,
  /[/\\]bower_components[/\\]/,
  /(?:^|[/\\.~_-])vendors?(?:[/\\.~_-]|$)/i,
  /(?:^|[/\\.~_-])(?:polyfills?|zone)(?:[/\\.~_-]|$)/i, // Angular's zone.js chunk wraps every call
  /^(?:chrome|moz|safari|safari-web|ms-browser)-extension:/,
  /^(?:node|internal)[:/]/,
  /^webpack\/(?:bootstrap|runtime)/,
  /^InternalBytecode\.js$/, // Hermes' own built-ins
];

const NATIVE_FILES = new Set(['native', '<anonymous>', '[native code]', 'eval', 'unknown location']);
// Safari and old Chrome print anonymous frames as a bare `url:line:col`.
const BARE_LOCATION = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/)\S*:\d+(?::\d+)?$/i;
const HERMES_BYTECODE = 'address at ';

/** True for code the app's own developers wrote and can fix. */
export function isInAppFile(file: string | undefined): boolean {
  if (file === undefined || NATIVE_FILES.has(file) || file.startsWith('index ')) return false;
  return !LIBRARY_PATTERNS.some((pattern) => pattern.test(file));
}

// How engines spell "no name": V8, JSC (`global code`), old Edge, Hermes.
const ANONYMOUS_NAMES = new Set([
  '',
  '<anonymous>',
  'global code',
  'module code',
  'Anonymous function',
  'anonymous',
]);

function cleanFunction(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  let cleaned = name;
  // ` [as alias]` suffix, found by index: `/\s*\[as [^\]]+\]$/` rescans the tail from every `[as `.
  if (cleaned.endsWith(']')) {
    const alias = cleaned.indexOf('[as ', cleaned.lastIndexOf(']', cleaned.length - 2) + 1);
    if (alias >= 0 && alias + 4 < cleaned.length - 1) cleaned = cleaned.slice(0, alias).trimEnd();
  }
  cleaned = cleaned.replace(/^(?:async|new)\s+/, '').replace(/^.*\*/, ''); // Firefox async markers: `promise callback*fn`
  while (cleaned.endsWith('/<')) cleaned = cleaned.slice(0, -2);
  cleaned = cleaned.replace(/<$/, '').trim();
  if (ANONYMOUS_NAMES.has(cleaned)) cleaned = '';
  return cleaned === '' ? undefined : cleaned;
}

function frame(fn: string | undefined, file: string | undefined, line?: string, column?: string): StackFrame {
  const cleanFile = file === undefined || file.trim() === '' ? undefined : file.trim();
  return {
    function: cleanFunction(fn),
    file: cleanFile,
    line: line === undefined ? undefined : Number(line),
    column: column === undefined ? undefined : Number(column),
    inApp: isInAppFile(cleanFile),
  };
}

function parseLocation(fn: string | undefined, location: string): StackFrame {
  if (location.startsWith(HERMES_BYTECODE)) {
    const parsed = parseLocation(fn, location.slice(HERMES_BYTECODE.length));
    return parsed.line === undefined ? parsed : { ...parsed, bytecode: true };
  }
  if (location.startsWith('eval at ')) {
    // V8 eval frames: the script that called eval is the one a developer can open.
    const inner = CHROME_EVAL.exec(location);
    return inner === null ? frame(fn, 'eval') : frame(fn, inner[1], inner[2], inner[3]);
  }
  const match = LOCATION.exec(location);
  return frame(fn, match?.[1] ?? location, match?.[2], match?.[3]);
}

function parseChromeLine(line: string): StackFrame {
  // `at async <anonymous>:381:23`: an async frame with a location and no name.
  const rest = line.endsWith(')') ? line : line.replace(/^async\s+/, '');
  // `fn (location)` or a bare `location` for anonymous functions.
  if (rest.endsWith(')')) {
    const open = rest.indexOf(' (');
    if (open > 0) return parseLocation(rest.slice(0, open), rest.slice(open + 2, -1));
    if (rest.startsWith('(')) return parseLocation(undefined, rest.slice(1, -1));
    // React Native's V8 build prints `at Object.onPress(index.android.bundle:2342:3773)`, without the space.
    const tight = /^([^\s(]+)\((.+)\)$/.exec(rest);
    if (tight?.[1] !== undefined && tight[2] !== undefined) return parseLocation(tight[1], tight[2]);
  }
  return parseLocation(undefined, rest);
}

function parseFirefoxLine(line: string): StackFrame | undefined {
  // The first "@" separates name from location: URLs may contain "@" (unpkg.com/@scope/pkg@1), names do not.
  const at = line.indexOf('@');
  if (at < 0) {
    const bare = line.trim();
    if (!BARE_LOCATION.test(bare)) return undefined;
    const match = /^(.*?):(\d+)(?::(\d+))?$/.exec(bare);
    return match === null ? undefined : frame(undefined, match[1], match[2], match[3]);
  }
  const fn = line.slice(0, at).trim();
  const location = line.slice(at + 1).trim();
  if (location === '[native code]') return frame(fn, location);
  const evalMatch = FIREFOX_EVAL.exec(location);
  if (evalMatch !== null) return frame(fn, evalMatch[1], evalMatch[2]);
  const match = /^(.*?):(\d+)(?::(\d+))?$/.exec(location);
  // Without a line number this is not a frame (e.g. a message line that mentions an email address).
  if (match === null) return undefined;
  return frame(fn, match[1], match[2], match[3]);
}

/**
 * Parses a stack string into frames, innermost first. Lines that are not frames (the message
 * line V8 puts first, blank lines) are skipped; an unparseable stack yields [].
 */
export function parseStack(stack: string | undefined): StackFrame[] {
  if (stack === undefined || stack === '') return [];
  const lines = stack
    .slice(0, MAX_STACK_CHARS)
    .split(/\r?\n/)
    .filter((line) => line.length <= MAX_FRAME_CHARS);
  const chrome = lines.some((line) => CHROME_FRAME.test(line));
  const frames: StackFrame[] = [];
  for (const line of lines) {
    if (frames.length >= MAX_FRAMES) break;
    if (chrome) {
      const match = CHROME_FRAME.exec(line);
      if (match?.[1] !== undefined) frames.push(parseChromeLine(match[1].trimEnd()));
    } else {
      const parsed = parseFirefoxLine(line);
      if (parsed !== undefined) frames.push(parsed);
    }
  }
  return frames;
}

/** `fn (file:line:col)` for emails and logs. */
export function formatFrame(f: StackFrame): string {
  const where =
    f.file === undefined
      ? 'native'
      : `${stripDebugIdMarkers(f.file)}${f.line === undefined ? '' : `:${f.line}`}${f.column === undefined ? '' : `:${f.column}`}`;
  return f.function === undefined ? where : `${f.function} (${where})`;
}
