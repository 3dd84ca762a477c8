import { LIMITS } from '@telltale/protocol';

/** Deepest nesting of arrays and objects accepted (a batch needs 5: batch, events, event, breadcrumbs, crumb). */
export const MAX_NESTING = 8;
/** Keys that could reach an object's prototype if the value were ever merged or spread. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type ShapeProblem = {
  reason: 'too_deep' | 'string_too_long' | 'forbidden_key';
  /** JSON pointer of the offending value, e.g. `/events/3/props/a`. */
  field: string;
  message: string;
};

interface Frame {
  value: object;
  depth: number;
  parent: Frame | undefined;
  key: string;
}

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

function pointer(frame: Frame | undefined, last?: string): string {
  const parts: string[] = last === undefined ? [] : [escapePointer(last)];
  for (let f = frame; f?.parent !== undefined; f = f.parent) parts.push(escapePointer(f.key));
  const path = parts.length === 0 ? '/' : `/${parts.reverse().join('/')}`;
  // Keys along the path passed the string limit one by one; together they could still be huge.
  return path.length > 512 ? `${path.slice(0, 511)}…` : path;
}

/**
 * Walks a parsed JSON value without recursion (a hostile depth cannot blow the stack), refusing
 * nesting deeper than MAX_NESTING, any string or key over the protocol's string limit, and keys
 * `__proto__`, `constructor` and `prototype` anywhere, unknown fields included.
 */
export function checkJsonShape(
  root: unknown,
  maxDepth = MAX_NESTING,
  maxString = LIMITS.maxStringLength,
): ShapeProblem | undefined {
  if (typeof root === 'string' && root.length > maxString)
    return { reason: 'string_too_long', field: '/', message: `/: longer than ${maxString} characters` };
  if (typeof root !== 'object' || root === null) return undefined;
  const stack: Frame[] = [{ value: root, depth: 1, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const visit = (key: string, child: unknown): ShapeProblem | undefined => {
      if (typeof child === 'string') {
        if (child.length > maxString) {
          const field = pointer(frame, key);
          return {
            reason: 'string_too_long',
            field,
            message: `${field}: longer than ${maxString} characters`,
          };
        }
      } else if (typeof child === 'object' && child !== null) {
        if (frame.depth + 1 > maxDepth) {
          const field = pointer(frame, key);
          return { reason: 'too_deep', field, message: `${field}: nested deeper than ${maxDepth} levels` };
        }
        stack.push({ value: child, depth: frame.depth + 1, parent: frame, key });
      }
      return undefined;
    };
    if (Array.isArray(frame.value)) {
      const list = frame.value as unknown[];
      for (let i = 0; i < list.length; i++) {
        const problem = visit(String(i), list[i]);
        if (problem) return problem;
      }
    } else {
      const record = frame.value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (FORBIDDEN_KEYS.has(key)) {
          const field = pointer(frame, key);
          return {
            reason: 'forbidden_key',
            field,
            message: `${field}: the key "${key}" is not allowed (__proto__, constructor and prototype never are)`,
          };
        }
        if (key.length > maxString) {
          const field = pointer(frame);
          return {
            reason: 'string_too_long',
            field,
            message: `${field}: has a key longer than ${maxString} characters`,
          };
        }
        const problem = visit(key, record[key]);
        if (problem) return problem;
      }
    }
  }
  return undefined;
}
