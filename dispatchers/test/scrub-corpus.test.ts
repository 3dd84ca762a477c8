import { describe, expect, it } from 'vitest';
import {
  enrichEnvelope,
  scrubAttributes,
  scrubStack,
  scrubText,
  scrubUrl,
  serverLogRows,
} from '@telltale/dispatchers';
import { scrubJsonValue } from '../src/pipeline/index.js';
import { ATTRIBUTE_CORPUS, SCRUB_CORPUS } from './fixtures/scrub-corpus.js';
import { envelope, errorEvent } from './helpers.js';

const PASSES = { text: scrubText, stack: scrubStack, url: scrubUrl };

describe('the server-side scrubber on the corpus', () => {
  it.each(SCRUB_CORPUS.map((c) => [c.field ?? 'text', c.input, c.expected] as const))(
    '%s: %s',
    (field, input, expected) => {
      expect(PASSES[field](input)).toBe(expected);
    },
  );

  it('filters deny-listed attribute keys and scrubs the others', () => {
    expect(scrubAttributes(ATTRIBUTE_CORPUS.input)).toEqual(ATTRIBUTE_CORPUS.expected);
  });

  it('scrubs arbitrary JSON at any depth, bounded', () => {
    const state = {
      cart: { owner: 'jane@example.com', items: [{ sku: 'A1', note: 'call 4111 1111 1111 1111' }] },
      authToken: 'abc',
      headers: { 'x-api-key': 'k', accept: 'json' },
    };
    expect(scrubJsonValue(state)).toEqual({
      cart: { owner: '[email]', items: [{ sku: 'A1', note: 'call [card]' }] },
      authToken: '[Filtered]',
      headers: { 'x-api-key': '[Filtered]', accept: 'json' },
    });
    let deep: unknown = 'a@b.co';
    for (let i = 0; i < 100; i += 1) deep = [deep];
    expect(JSON.stringify(scrubJsonValue(deep))).not.toContain('a@b.co');
  });

  it('reaches every stored field of an event and of a server log', () => {
    const secret = 'alice@example.com sk_live_4eC39HqLyjWDarjtT1zdp7dc';
    const [row] = enrichEnvelope(
      envelope('b-1', [
        errorEvent('e-1', {
          message: `failed for ${secret}`,
          stack: `Error\n    at f (https://x.io/users/alice@example.com/a.js?token=t:1:2)`,
          url: '/users/alice@example.com/edit?token=t',
          breadcrumbs: [{ ts: 1, category: 'alice@example.com', message: `{"password":"x"} ${secret}` }],
        }),
      ]),
    );
    const stored = JSON.stringify(row);
    for (const leak of ['alice', 'sk_live', 'token=t', '"x"']) expect(stored).not.toContain(leak);

    const [log] = serverLogRows({
      v: 1,
      app: 'shop',
      receivedAt: 1,
      logs: [
        {
          id: 'l-1',
          ts: 1,
          level: 'info',
          service: 'api',
          message: `GET /x?email=a@b.co 200 ${secret}`,
          attrs: { db_password: 'p', 'alice@example.com': 'x', note: secret },
        },
      ],
    });
    expect(JSON.stringify(log)).not.toMatch(/alice|sk_live|a@b\.co|"p"/);
  });
});
