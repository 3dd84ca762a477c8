// Bytes over a plain TCP socket to a listener on 127.0.0.1, for what fetch cannot send: oversized
// headers, a broken request line, a request that stops halfway.
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `bytes` to `url`'s port and resolves with the server's answer once it closes the
 * connection; rejects when it has not closed it after `timeoutMs`.
 */
export function rawRequest(url: string, bytes: string, timeoutMs = 15_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    let text = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    // The server may close while this side is still writing (it answered early): not a failure.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (timedOut)
        return reject(new Error(`not closed after ${timeoutMs} ms; answered: ${JSON.stringify(text)}`));
      const end = text.indexOf('\r\n\r\n');
      const head = (end === -1 ? text : text.slice(0, end)).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1]);
      if (!Number.isInteger(status)) return reject(new Error(`no HTTP answer: ${JSON.stringify(text)}`));
      const headers = Object.fromEntries(
        head.slice(1).map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
        }),
      );
      resolve({ status, headers, body: end === -1 ? '' : text.slice(end + 4) });
    });
    socket.on('connect', () => socket.write(bytes));
  });
}
