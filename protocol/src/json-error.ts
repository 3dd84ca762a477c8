/**
 * Where JSON.parse stopped, as line and column, never the ~10 characters of source Node's message
 * quotes (they can be part of an unquoted secret). V8 names either the position or, for an
 * unexpected token, a context that starts 10 characters before it.
 */
export function jsonErrorWhere(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const at = / at position (\d+)/.exec(message);
  let pos = at === null ? -1 : Number(at[1]);
  const context = /^Unexpected token .*?, \.\.\."([\s\S]*)"(?:\.\.\.)? is not valid JSON$/.exec(message);
  if (pos < 0 && context !== null) {
    const start = text.indexOf(context[1]!);
    if (start >= 0) pos = start + 10;
  }
  if (pos < 0 || pos > text.length) return 'is not valid JSON';
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `is not valid JSON at line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}
