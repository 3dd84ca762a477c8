import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type Batch } from '@telltale/protocol';
import { makeBatch, startHarness, WEB_KEY, type Harness } from './helpers.js';

const ROUNDS = 3000;
const VALID_EVERY = 7;
/** Every status the protocol documents for an ingest answer other than 202. */
const DOCUMENTED = new Set([400, 401, 403, 413, 415, 429]);

/**
 * The run's seed: TELLTALE_FUZZ_SEED replays a failure (every message names the seed), otherwise a new
 * one each run, printed so a CI log is enough to reproduce.
 */
function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TELLTALE_FUZZ_SEED;
  if (raw === undefined || raw === '') return Math.floor(Math.random() * 2 ** 32);
  if (!/^\d{1,10}$/.test(raw) || Number(raw) >= 2 ** 32)
    throw new Error(
      `TELLTALE_FUZZ_SEED: "${raw}" is not a seed; use the integer a failed run printed (0..4294967295)`,
    );
  return Number(raw);
}
const SEED = fuzzSeed();
console.log(`fuzz seed ${SEED} (replay with TELLTALE_FUZZ_SEED=${SEED})`);

/** The batch each hostile round mutates: fixed times and ids, so a seed makes the same bodies every run. */
function baseBatch(seed: number, round: number): Batch {
  const at = 1_700_000_000_000 + round;
  return makeBatch({
    batchId: `fuzz-${seed}-${round}`,
    sentAt: at,
    events: [
      { id: `f-${round}-1`, ts: at - 1000, kind: 'feature', name: 'export-csv' },
      { id: `f-${round}-2`, ts: at - 999, kind: 'error', type: 'TypeError', message: 'x is undefined' },
    ],
  });
}

/** mulberry32: a small seeded PRNG, so a failure can be replayed with the seed it prints. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\\',
  'null',
  'true',
  '-1e309',
  '1e400',
  '"__proto__"',
  '"constructor"',
  '"\\ud800"',
  '"\u0000"',
  '0',
  '"kind"',
  '"error"',
  '{"a":'.repeat(20),
  '\uFFFF',
  '💥',
  ' ',
];

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 4 ? 5 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor((r() - 0.5) * 2 ** (r() * 60));
    case 3:
      return 'x'.repeat(Math.floor(r() ** 4 * 10_000));
    case 4:
      return String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(r() * 0xffff)));
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const keys = ['v', 'batchId', 'events', 'kind', 'ts', 'id', 'name', 'props', 'message', 'sentAt', 'x'];
      return Object.fromEntries(
        Array.from({ length: Math.floor(r() * 5) }, () => [
          keys[Math.floor(r() * keys.length)]!,
          randomValue(r, depth + 1),
        ]),
      );
    }
  }
}

/** One hostile body: a mutated valid batch (text or structure), random JSON, or random bytes. */
function hostile(r: () => number, base: Batch): { body: Buffer; headers: Record<string, string> } {
  let text = JSON.stringify(base);
  const kind = Math.floor(r() * 6);
  if (kind === 0) {
    // Flip, insert or delete characters.
    const chars = [...text];
    for (let i = 0, n = 1 + Math.floor(r() * 5); i < n; i++) {
      const at = Math.floor(r() * chars.length);
      const op = r();
      if (op < 0.33) chars.splice(at, 1);
      else if (op < 0.66) chars.splice(at, 0, TOKENS[Math.floor(r() * TOKENS.length)]!);
      else chars[at] = String.fromCharCode(Math.floor(r() * 128));
    }
    text = chars.join('');
  } else if (kind === 1) {
    // Replace one field of the batch or of an event with a random value.
    const copy = structuredClone(base) as unknown as Record<string, unknown> & {
      events: Record<string, unknown>[];
    };
    const target = r() < 0.5 ? copy : copy.events[Math.floor(r() * copy.events.length)]!;
    const keys = Object.keys(target);
    target[keys[Math.floor(r() * keys.length)]!] = randomValue(r);
    text = JSON.stringify(copy);
  } else if (kind === 2) {
    text = JSON.stringify(randomValue(r));
  } else if (kind === 3) {
    text = text.slice(0, Math.floor(r() * text.length));
  }
  let body = Buffer.from(text);
  if (kind === 4)
    body = Buffer.from(Array.from({ length: Math.floor(r() * 512) }, () => Math.floor(r() * 256)));
  const headers: Record<string, string> = { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' };
  if (r() < 0.5) {
    body = gzipSync(body);
    if (r() < 0.2) {
      const at = Math.floor(r() * body.length);
      body[at] = body[at]! ^ 0xff; // a corrupt gzip stream
    }
    if (r() < 0.5) headers['content-encoding'] = 'gzip';
  }
  if (kind === 5) {
    const choices = ['br', 'deflate', 'gzip, gzip', '', 'identity'];
    headers['content-encoding'] = choices[Math.floor(r() * choices.length)]!;
    if (r() < 0.3) headers['x-telltale-key'] = 'tt_fuzz_0123456789abcdef';
    if (r() < 0.3)
      headers['content-type'] = ['application/json', 'multipart/form-data', 'x/y', ''][Math.floor(r() * 4)]!;
  }
  return { body, headers };
}

describe('fuzz: thousands of random and mutated batches', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxCompressedBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024 } });
  });
  afterAll(() => h.close());

  it('makes the same hostile bodies from the same seed, so a printed seed replays a failure', () => {
    const run = (seed: number) => {
      const r = rng(seed);
      return Array.from({ length: 200 }, (_, i) => hostile(r, baseBatch(seed, i)));
    };
    expect(run(SEED)).toEqual(run(SEED));
    expect(run(SEED)).not.toEqual(run(SEED + 1));
    expect(() => fuzzSeed({ TELLTALE_FUZZ_SEED: 'tuesday' })).toThrow(
      /TELLTALE_FUZZ_SEED: "tuesday" is not a seed/,
    );
    expect(fuzzSeed({ TELLTALE_FUZZ_SEED: '42' })).toBe(42);
  });

  it(`never crashes or answers 5xx, answers 202 or a documented 4xx with a registered code, and stores every valid batch (seed ${SEED})`, async () => {
    const seed = SEED;
    const r = rng(seed);
    const statuses = new Map<number, number>();
    const valid: Batch[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let res;
      if (i % VALID_EVERY === 0) {
        const batch = makeBatch({ batchId: `valid-${seed}-${i}` });
        valid.push(batch);
        res = await h.app.inject({
          method: 'POST',
          url: '/v1/batch',
          payload: r() < 0.5 ? gzipSync(JSON.stringify(batch)) : JSON.stringify(batch),
          headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain' },
        });
        expect(res.statusCode, `seed ${seed}, round ${i}: a valid batch`).toBe(202);
      } else {
        const { body, headers } = hostile(r, baseBatch(seed, i));
        res = await h.app.inject({ method: 'POST', url: '/v1/batch', payload: body, headers });
      }
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode !== 202) {
        expect(
          DOCUMENTED.has(res.statusCode),
          `seed ${seed}, round ${i}: status ${res.statusCode} ${res.body}`,
        ).toBe(true);
        const code = res.json().error?.code as keyof typeof ERROR_CODES;
        expect(ERROR_CODES[code]?.status, `seed ${seed}, round ${i}: ${res.body}`).toBe(res.statusCode);
      }
    }
    // The service is still fine, and every valid batch is on disk, intact.
    expect((await h.app.inject('/readyz')).statusCode).toBe(200);
    const stored = new Map((await h.envelopes()).map((e) => [e.batch.batchId, e.batch]));
    for (const batch of valid) expect(stored.get(batch.batchId), `seed ${seed}`).toEqual(batch);
    // The fuzz reached deep enough to be refused for several different reasons.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(ROUNDS / 4);
    expect([...statuses.keys()].filter((s) => s !== 202).length).toBeGreaterThanOrEqual(3);
  });
});
