/**
 * The name of the function that encloses a position in original source code (a map's
 * `sourcesContent`). Minifiers rename functions, and a source map's `names` rarely tell which
 * function a throw site is in; the original code does. A light forward scan (strings, comments,
 * template literals and regular expressions skipped; braces matched) finds every function body and
 * the header in front of it. It is a heuristic, not a parser: JSX text with quotes or unusual syntax
 * can fool it, and then the caller falls back to the map's names.
 */
export interface FunctionScope {
  /** Offsets of the body's `{` and `}`. */
  start: number;
  end: number;
  /** `renderCart`, `Store.dispatch`; undefined for anonymous functions. */
  name: string | undefined;
}

type BlockKind = 'function' | 'class' | 'block' | 'template';
interface Block {
  start: number;
  kind: BlockKind;
  name: string | undefined;
}

const MAX_SCANNED_CHARS = 5_000_000;
const MAX_HEADER_CHARS = 300;
const IDENT = '[A-Za-z_$][\\w$]*';
const KEYWORDS = new Set([
  'if',
  'for',
  'while',
  'switch',
  'catch',
  'with',
  'function',
  'return',
  'else',
  'do',
  'try',
]);
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'case',
  'do',
  'else',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'yield',
  'await',
]);

// Headers are trimmed and capped (MAX_HEADER_CHARS) before they get here. Each pattern starts at the
// start of an identifier (lookbehind) and has no two quantifiers that can trade characters, so it runs
// in linear time; the parameter list and return type are checked by `closesSignature`, not by `[^]*`.
const START = '(?<![\\w$])';
const CLASS_HEADER = new RegExp(`\\bclass\\s+(${IDENT})(?![\\w$])[^{}]*$`);
const ANON_CLASS_HEADER = new RegExp(`${START}(${IDENT})\\s*=\\s*class\\b[^{}]*$`);
const FUNCTION_HEADER = new RegExp(`\\bfunction\\b\\s*(?:\\*\\s*)?(?:(${IDENT})\\s*)?(?:<[^>]*>\\s*)?\\(`);
const ASSIGNED_FUNCTION = new RegExp(`${START}(${IDENT})\\s*[:=]\\s*(?:async\\s+)?function\\b`);
const ARROW_HEADER = /=>\s*$/;
const ASSIGNED_TO = new RegExp(`${START}(${IDENT})\\s*(?::[^=]*)?[:=]\\s*(?:async\\s*)?$`);
const SINGLE_PARAM = new RegExp(`${START}${IDENT}\\s*$`);
const METHOD_HEADER = new RegExp(
  `^(?:(?:public|private|protected|static|async|get|set|override|readonly|abstract)\\s+)*(?:\\*\\s*)?(#?${IDENT})\\s*(?:<[^>]*>\\s*)?\\(`,
);

/**
 * After a signature's `(`: some `)` is followed only by whitespace or a `: ReturnType` (what
 * `\([^]*\)\s*(?::[^{}]*)?$` checked, with polynomial backtracking).
 */
function closesSignature(header: string, from: number): boolean {
  for (let i = header.indexOf(')', from); i >= 0; i = header.indexOf(')', i + 1)) {
    let j = i + 1;
    while (j < header.length && /\s/.test(header[j] ?? '')) j += 1;
    if (j === header.length || header[j] === ':') return true;
  }
  return false;
}

/** `const total = (a: T): R => {` → `total`; walks back over the parameter list instead of a costly regex. */
function arrowName(header: string): string | undefined {
  let rest = header.replace(ARROW_HEADER, '').trimEnd();
  const close = rest.lastIndexOf(')');
  if (close >= 0 && /^\s*(?::[^()]*)?$/.test(rest.slice(close + 1))) {
    let depth = 0;
    let open = -1;
    for (let i = close; i >= 0; i -= 1) {
      if (rest[i] === ')') depth += 1;
      else if (rest[i] === '(' && --depth === 0) {
        open = i;
        break;
      }
    }
    if (open < 0) return undefined;
    rest = rest.slice(0, open);
  } else {
    rest = rest.replace(SINGLE_PARAM, '');
  }
  return ASSIGNED_TO.exec(rest.slice(-120))?.[1];
}

function classify(
  rawHeader: string,
  parent: Block | undefined,
): { kind: BlockKind; name: string | undefined } {
  const header = rawHeader
    .slice(-MAX_HEADER_CHARS)
    .replace(/^[\s,;]+/, '')
    .trimEnd();
  const cls = CLASS_HEADER.exec(header) ?? ANON_CLASS_HEADER.exec(header);
  if (cls !== null) return { kind: 'class', name: cls[1] };
  if (ARROW_HEADER.test(header)) return { kind: 'function', name: arrowName(header) };
  const fn = FUNCTION_HEADER.exec(header);
  if (fn !== null && closesSignature(header, fn.index + fn[0].length))
    return { kind: 'function', name: fn[1] ?? ASSIGNED_FUNCTION.exec(header)?.[1] };
  const method = METHOD_HEADER.exec(header);
  if (method?.[1] !== undefined && !KEYWORDS.has(method[1]) && closesSignature(header, method[0].length)) {
    const name = method[1].replace(/^#/, '');
    if (parent?.kind === 'class' && parent.name !== undefined)
      return { kind: 'function', name: name === 'constructor' ? parent.name : `${parent.name}.${name}` };
    return { kind: 'function', name };
  }
  return { kind: 'block', name: undefined };
}

function skipString(source: string, i: number, quote: string): number {
  for (let j = i + 1; j < source.length; j += 1) {
    const c = source[j];
    if (c === '\\') j += 1;
    else if (c === quote) return j;
    else if (c === '\n') return j; // unterminated (JSX text): stop at the line end
  }
  return source.length;
}

function skipRegex(source: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < source.length; j += 1) {
    const c = source[j];
    if (c === '\\') j += 1;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) {
      let k = j + 1;
      while (k < source.length && /[a-z]/i.test(source[k] ?? '')) k += 1;
      return k - 1;
    } else if (c === '\n') return j;
  }
  return source.length;
}

function regexAllowed(source: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && /\s/.test(source[j] ?? '')) j -= 1;
  if (j < 0) return true;
  const prev = source[j] ?? '';
  if ('(,=:[!&|?{};+-*%<>~^'.includes(prev)) return true;
  if (!/[\w$]/.test(prev)) return false;
  let k = j;
  while (k >= 0 && /[\w$]/.test(source[k] ?? '')) k -= 1;
  return REGEX_AFTER_WORD.has(source.slice(k + 1, j + 1));
}

/** Every function body in the source with its name; computed once per source file and cached by the caller. */
export function functionScopes(source: string): FunctionScope[] {
  const text = source.length > MAX_SCANNED_CHARS ? source.slice(0, MAX_SCANNED_CHARS) : source;
  const scopes: FunctionScope[] = [];
  const blocks: Block[] = [];
  let headerStart = 0;
  let parens = 0;
  let inTemplate = false;
  // A TypeScript return type written as an object literal (`f(): { a: number } {`) precedes the body.
  let pendingName: string | undefined | null = null;

  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inTemplate) {
      if (c === '\\') i += 1;
      else if (c === '`') {
        inTemplate = false;
        headerStart = i + 1;
      } else if (c === '$' && text[i + 1] === '{') {
        blocks.push({ start: i + 1, kind: 'template', name: undefined });
        inTemplate = false;
        i += 1;
        headerStart = i + 1;
      }
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === '"' || c === "'") {
      i = skipString(text, i, c);
    } else if (c === '`') {
      inTemplate = true;
    } else if (c === '/' && regexAllowed(text, i)) {
      i = skipRegex(text, i);
    } else if (c === '(') {
      parens += 1;
    } else if (c === ')') {
      parens = Math.max(0, parens - 1);
    } else if (c === ';' && parens === 0) {
      headerStart = i + 1;
    } else if (c === '{') {
      const header = text.slice(Math.max(headerStart, i - MAX_HEADER_CHARS), i);
      let found = classify(header, blocks[blocks.length - 1]);
      if (pendingName !== null && header.trim() === '') found = { kind: 'function', name: pendingName };
      pendingName = null;
      if (found.kind === 'function' && header.trimEnd().endsWith(':')) {
        pendingName = found.name; // this `{` opens the return type, the next one the body
        found = { kind: 'block', name: undefined };
      }
      blocks.push({ start: i, ...found });
      headerStart = i + 1;
    } else if (c === '}') {
      const block = blocks.pop();
      if (block?.kind === 'template') inTemplate = true;
      else if (block?.kind === 'function') scopes.push({ start: block.start, end: i, name: block.name });
      if (pendingName !== null && block?.kind !== 'block') pendingName = null;
      headerStart = i + 1;
    }
  }
  return scopes.sort((a, b) => a.start - b.start);
}

/** The innermost named function around `offset`: an anonymous callback reports the function it sits in. */
export function enclosingFunction(scopes: readonly FunctionScope[], offset: number): string | undefined {
  let best: FunctionScope | undefined;
  for (const scope of scopes) {
    if (scope.start > offset) break;
    if (scope.end >= offset && scope.name !== undefined && (best === undefined || scope.start > best.start))
      best = scope;
  }
  return best?.name;
}

/** Offsets of line starts, for turning a (1-based line, 0-based column) into an offset. */
export function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}
