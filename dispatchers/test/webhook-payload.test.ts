import { describe, expect, it } from 'vitest';
import { parseWebhookDestinations } from '@telltale/protocol';
import {
  type AlertSummary,
  type WebhookDelivery,
  alertWebhookBody,
  mergeDeliveries,
  slackPayload,
  webhookRequest,
} from '../src/alerts/index.js';

const alert = (key: string, extra: Partial<AlertSummary> = {}): AlertSummary => ({
  key,
  kind: key.split(':')[0] as AlertSummary['kind'],
  app: 'shop',
  subject: `[Telltale] ${key}`,
  createdAt: '2026-12-02T14:00:00.000Z',
  status: 'sent',
  transport: 'outbox',
  link: 'https://telltale.example.com/features',
  ...extra,
});

describe('webhook payloads', () => {
  it('names the subject of each kind from the key, names with ":" included', () => {
    expect(alertWebhookBody(alert('first-feature-account:shop:report:v2:acme'))).toMatchObject({
      feature: 'report:v2',
      account: 'acme',
    });
    expect(alertWebhookBody(alert('new-assert:shop:a:b'))).toMatchObject({ assert: 'a:b' });
    expect(alertWebhookBody(alert('regression:shop:ff00:2'))).toMatchObject({ fingerprint: 'ff00' });
  });

  it('sends keys a header cannot carry percent-encoded, decoding back to the body id', () => {
    const [destination] = parseWebhookDestinations(
      [{ type: 'json', url: 'https://ops.example.com/hook' }],
      'webhooks',
    );
    const key = 'first-feature:shop:экспорт csv';
    const request = webhookRequest(destination!, alert(key));
    const header = request.headers['idempotency-key'] ?? '';
    expect(header).toMatch(/^[\x21-\x7e]+$/);
    expect(decodeURI(header)).toBe(key);
    expect((JSON.parse(request.body) as { id: string }).id).toBe(key);
    expect(request.headers['telltale-signature']).toBeUndefined(); // no secret, no signature
  });

  it("escapes Slack's control characters in subjects that come from error messages", () => {
    const payload = slackPayload(alert('new-error:shop:ab', { subject: '[Telltale] <!channel> & <b>' })) as {
      text: string;
      blocks: Array<{ text?: { text: string } }>;
    };
    expect(payload.blocks[0]?.text?.text).toContain('&lt;!channel&gt; &amp; &lt;b&gt;');
    expect(payload.blocks[0]?.text?.text).not.toContain('<!channel>');
    // The notification text too: Slack would ping the channel or show a disguised link from it.
    expect(payload.text).toContain('&lt;!channel&gt; &amp; &lt;b&gt;');
    expect(payload.text).not.toContain('<!channel>');
  });

  it('builds the request of a key with a lone surrogate instead of throwing', () => {
    const [destination] = parseWebhookDestinations(
      [{ type: 'json', url: 'https://ops.example.com/hook' }],
      'webhooks',
    );
    const key = 'first-feature:shop:bad\ud800name';
    const request = webhookRequest(destination!, alert(key));
    const header = request.headers['idempotency-key'] ?? '';
    expect(header).toMatch(/^[\x21-\x7e]+$/);
    expect(decodeURI(header)).toBe('first-feature:shop:bad\ufffdname');
  });

  it('folds deliveries to the same state whatever order their lines come in', () => {
    const d = (status: WebhookDelivery['status'], attempts: number): WebhookDelivery => ({
      type: 'json',
      host: 'ops.example.com',
      status,
      attempts,
    });
    const lines = [
      { a: d('pending', 0), b: d('pending', 0) },
      { a: d('failing', 1), b: d('pending', 0) },
      { a: d('failing', 2), b: d('sent', 1) },
      { a: d('sent', 3), b: d('pending', 0) },
    ];
    const fold = (order: typeof lines) =>
      order.reduce<Record<string, WebhookDelivery> | undefined>(
        (acc, line) => mergeDeliveries(acc, line),
        undefined,
      );
    const expected = { a: d('sent', 3), b: d('sent', 1) };
    expect(fold(lines)).toEqual(expected);
    expect(fold([...lines].reverse())).toEqual(expected);
    expect(fold([lines[2]!, lines[0]!, lines[3]!, lines[1]!])).toEqual(expected);
  });

  it('refuses a destination list over 10, or two entries with one id', () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ type: 'json', url: `https://h${i}.example.com/` }));
    expect(() => parseWebhookDestinations(many, 'apps[0].webhooks')).toThrow(
      /apps\[0\]\.webhooks: must be a list/,
    );
    const twice = [
      { type: 'json', url: 'https://a.example.com/' },
      { type: 'json', url: 'https://a.example.com/' },
    ];
    expect(() => parseWebhookDestinations(twice, 'apps[0].webhooks')).toThrow(/apps\[0\]\.webhooks\[1\]\.id/);
  });
});
