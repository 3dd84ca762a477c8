import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir, waitFor } from './helpers.js';

const API_TOKEN = 'timeline-admin-token-0123456789abcdef';
const TRACE = 'a3ce929d0e0e47364bf92f3577b34da6';
const OTHER_TRACE = 'ffce929d0e0e47364bf92f3577b34da6';
const SPAN = '00f067aa0ba902b7';

/** The real OTel SDK and exporter, as an app already on OpenTelemetry ships its logs. */
async function exportOtel(
  kind: 'json' | 'proto',
  endpoint: string,
  key: string,
  body: string,
): Promise<void> {
  const options = { url: `${endpoint}/otlp/v1/logs`, headers: { authorization: `Bearer ${key}` } };
  const exporter = kind === 'json' ? new JsonExporter(options) : new ProtoExporter(options);
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': `orders-${kind}` }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const traced = trace.setSpanContext(context.active(), {
    traceId: TRACE,
    spanId: SPAN,
    traceFlags: TraceFlags.SAMPLED,
  });
  provider.getLogger('checkout').emit({ severityNumber: 17, body, context: traced });
  await provider.forceFlush();
  await provider.shutdown();
}

describe('the correlated timeline: /api/timeline, /api/logs, /timeline, /logs', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let t: RunningTelltale;
  const auth = { authorization: `Bearer ${API_TOKEN}` };
  const api = async (path: string) => {
    const response = await fetch(`${t.url}${path}`, { headers: auth });
    return { status: response.status, body: (await response.json()) as any };
  };
  const start = Date.now();

  beforeAll(async () => {
    data = await tempDir('timeline');
    t = await startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: API_TOKEN },
    });
    // The browser's clock runs 40 s fast (under the collector's 60 s drift threshold, so not shifted):
    // its click is still placed before the server lines it caused, at most at the receive time.
    const skew = 40_000;
    const batch = {
      v: 1,
      batchId: 'timeline-batch-1',
      sentAt: Date.now() + skew,
      release: '1.0.0',
      environment: 'test',
      session: TRACE,
      events: [
        { id: 'click-1', ts: Date.now() + skew - 5, kind: 'feature', name: 'checkout-click', trace: TRACE },
        {
          id: 'err-1',
          ts: Date.now() + skew,
          kind: 'error',
          type: 'CheckoutError',
          message: 'checkout failed: 502',
          trace: TRACE,
        },
        { id: 'other-1', ts: Date.now(), kind: 'feature', name: 'elsewhere', trace: OTHER_TRACE },
      ],
    };
    const sent = await fetch(`${t.url}/v1/batch?key=${t.demoKey}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(batch),
    });
    expect(sent.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the server lines come after the receive time
    await exportOtel('json', t.url, t.demoSecret!, 'payment provider answered 502 (json)');
    await exportOtel('proto', t.url, t.demoSecret!, 'payment provider answered 502 (proto)');
    const lines = [
      {
        ts: Date.now(),
        level: 'info',
        message: 'POST /api/checkout 502 in 12 ms',
        service: 'api',
        trace: TRACE,
        span: SPAN,
      },
      { ts: Date.now(), level: 'warn', message: 'Disk 100% full on node-7', service: 'ops' },
    ];
    const logged = await fetch(`${t.url}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.demoSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify(lines),
    });
    expect(logged.status).toBe(202);
    await waitFor('everything on the timeline', async () => {
      const { body } = await api(`/api/timeline?trace=${TRACE}`);
      return body.items?.length === 5;
    });
    await waitFor('all server lines stored', async () => (await api('/api/logs')).body.logs?.length === 4);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await data?.remove();
  });

  it('interleaves client events and server logs of one trace in time order, on the collector clock', async () => {
    const { status, body } = await api(`/api/timeline?trace=${TRACE}`);
    expect(status).toBe(200);
    const items = body.items as any[];
    expect(items.map((i) => `${i.source}:${i.kind}:${i.message}`)).toEqual([
      'client:feature:checkout-click',
      'client:error:checkout failed: 502',
      'server:log:payment provider answered 502 (json)',
      'server:log:payment provider answered 502 (proto)',
      'server:log:POST /api/checkout 502 in 12 ms',
    ]);
    // Anchored: the fast browser clock does not push its events past the server's lines.
    for (const item of items) expect(item.ts).toBeLessThanOrEqual(Date.now());
    expect(items[0].ts).toBeGreaterThanOrEqual(start);
    expect(items[1]).toMatchObject({
      source: 'client',
      name: 'CheckoutError',
      ids: { trace: TRACE, session: TRACE, event: 'err-1', request: null },
    });
    expect(items[1].fingerprint).toEqual(expect.any(String));
    expect(items[2]).toMatchObject({
      source: 'server',
      level: 'error',
      service: 'orders-json',
      ids: { trace: TRACE, span: SPAN, request: SPAN },
    });
    // The session's events, of any trace; these server lines carry no session id.
    const session = (await api(`/api/timeline?session=${TRACE}`)).body.items;
    expect(session.map((i: any) => i.ids.event)).toEqual(['other-1', 'click-1', 'err-1']);
    // A request is a server span: its lines only.
    const request = await api(`/api/timeline?request=${SPAN}`);
    expect(request.body.items.map((i: any) => i.source)).toEqual(['server', 'server', 'server']);
  });

  it('pages with a keyset cursor: every item once, in order, both ways', async () => {
    const all = (await api(`/api/timeline?trace=${TRACE}`)).body.items.map((i: any) => i.ids.event);
    const seen: string[] = [];
    let cursor: string | null = '';
    let last: any;
    while (cursor !== null) {
      last = (await api(`/api/timeline?trace=${TRACE}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      seen.push(...last.items.map((i: any) => i.ids.event));
      cursor = last.next;
    }
    expect(seen).toEqual(all);
    const back = (await api(`/api/timeline?trace=${TRACE}&limit=2&after=${last.prev}`)).body;
    expect(back.items.map((i: any) => i.ids.event)).toEqual(all.slice(2, 4));
    const from = (await api(`/api/timeline?trace=${TRACE}&from=${(last.items[0] as any).ts}`)).body;
    expect(from.items.length).toBeLessThan(all.length);
  });

  it('refuses a timeline with no id to join on, and a cursor from another list', async () => {
    const none = await api('/api/timeline?from=0');
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe('TELLTALE_ERR_INVALID_QUERY');
    const logsCursor = (await api('/api/logs?limit=1')).body.next;
    const wrong = await api(`/api/timeline?trace=${TRACE}&cursor=${logsCursor}`);
    expect(wrong.status).toBe(400);
  });

  it('searches server logs by text (plain substring, any case), service, level and trace, paged', async () => {
    const byText = (await api(`/api/logs?text=${encodeURIComponent('100% FULL')}`)).body.logs;
    expect(byText.map((l: any) => l.message)).toEqual(['Disk 100% full on node-7']);
    expect((await api(`/api/logs?text=${encodeURIComponent('%')}`)).body.logs).toHaveLength(1);
    expect((await api('/api/logs?service=orders-proto')).body.logs).toHaveLength(1);
    expect((await api('/api/logs?level=error')).body.logs).toHaveLength(2);
    expect((await api(`/api/logs?trace=${TRACE}`)).body.logs).toHaveLength(3);
    const tooLong = await api(`/api/logs?text=${'a'.repeat(201)}`);
    expect(tooLong.status).toBe(400);
    const first = (await api('/api/logs?limit=3')).body;
    const second = (await api(`/api/logs?limit=3&before=${first.next}`)).body;
    const ids = [...first.logs, ...second.logs].map((l: any) => l.id);
    expect(new Set(ids).size).toBe(4);
    expect(second.next).toBeNull();
  });

  it('renders /timeline with browser and server rows apart, and /logs linking to it', async () => {
    const html = await (await fetch(`${t.url}/timeline?trace=${TRACE}`, { headers: auth })).text();
    expect(html.match(/<tr class="source-client"/g)).toHaveLength(2);
    expect(html.match(/<tr class="source-server"/g)).toHaveLength(3);
    expect(html).toContain('payment provider answered 502 (proto)');
    const logs = await fetch(`${t.url}/logs?text=checkout`, { headers: auth });
    expect(logs.headers.get('content-security-policy')).toContain("default-src 'self'");
    const page = await logs.text();
    expect(page).toContain('POST /api/checkout 502 in 12 ms');
    expect(page).toContain(`href="/timeline?trace=${TRACE}"`);
    expect(page).not.toContain('Disk 100% full');
  });
});
