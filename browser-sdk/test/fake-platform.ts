import type { Batch } from '@telltale/protocol';
import type { Answer, Platform } from '../src/core/types.js';

export interface Sent {
  url: string;
  batch: Batch;
  keepalive: boolean;
}

/** A platform whose transport records each batch and answers with `answer` (202 unless changed). */
export function fakePlatform() {
  const sent: Sent[] = [];
  const state = {
    sessionId: 'session-1',
    online: true,
    answer: (_batch: Batch): Answer | Promise<Answer> => ({ status: 202 }),
  };
  const platform: Platform = {
    send(url, json, keepalive) {
      const batch = JSON.parse(json) as Batch;
      sent.push({ url, batch, keepalive });
      return Promise.resolve(state.answer(batch));
    },
    session: () => [state.sessionId, '0af7651916cd43dd8448eb211c80319c'],
    context: () => ({ url: '/checkout', online: state.online }),
    loadMs: () => 420,
  };
  const events = () => sent.flatMap((s) => s.batch.events);
  return { platform, sent, state, events };
}

export const OPTIONS = {
  endpoint: 'https://collector.test/',
  key: 'app key',
  release: '1.2.3',
  environment: 'test',
};

/** An error whose stack is the same each time, as when one line throws in a loop. */
export function sameError(message = 'boom'): Error {
  const e = new TypeError(message);
  e.stack = `TypeError: ${message}\n    at computeTotal (https://shop.test/app.js:10:5)\n    at onClick (https://shop.test/app.js:20:3)`;
  return e;
}
