import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type kafkajs from 'kafkajs';
import { openGroupStates, openMuteRules } from '../src/intelligence/index.js';
import { startKafkaAlertReader } from '../src/alerts/index.js';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import {
  assertEvent,
  errorEvent,
  featureEvent,
  kafkaAdmin,
  quiescent,
  spawnDecider,
  startDecider,
  startGatedSmtp,
  type DeciderEnv,
  type DeciderProcess,
  type GatedSmtp,
} from './fixtures/kafka-alerts-harness.js';

/** Several processes, joins and session timeouts on a shared 2-core machine: more than vitest's 60 s default. */
const TEST_TIMEOUT_MS = 240_000;
// The membership-change tests wait for every member to own candidates partitions. On the mock
// cluster a rebalance sometimes answers a member's SyncGroup with a non-retriable "request being
// malformed … incompatible broker" error and kafkajs stops that member's consumer for good; the
// deciders then replace it (pipeline/sources/kafka/keeper.ts), which the crash test below injects on purpose.

/** Each subject exactly once, and nothing else. */
function expectOnce(subjects: readonly string[], expected: readonly string[]): void {
  expect([...subjects].sort()).toEqual([...expected].sort());
}

describe('Kafka alerts: exactly one email per new thing across dispatcher processes', () => {
  let mock: KafkaMockCluster;
  let admin: kafkajs.Admin;
  let prefixes = 0;
  const processes: DeciderProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    mock = await startKafkaMock();
    admin = kafkaAdmin(mock.bootstrap);
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
    await mock?.stop();
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill()));
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function setup(gateOpen = true): Promise<{
    smtp: GatedSmtp;
    dataDir: string;
    start(name: string, extra?: Pick<DeciderEnv, 'crashOnce'>): Promise<DeciderProcess>;
    spawn(name: string): ReturnType<typeof spawnDecider>;
    prefix: string;
  }> {
    const smtp = await startGatedSmtp(gateOpen);
    const { dir, remove } = await tempDir('kafka-alerts');
    cleanups.push(() => smtp.close(), remove);
    // Topics of their own per test: one mock cluster serves the file.
    const prefix = `t${(prefixes += 1)}-${process.pid}.`;
    return {
      smtp,
      dataDir: dir,
      prefix,
      async start(name, extra = {}) {
        const p = await startDecider(name, {
          bootstrap: mock.bootstrap,
          prefix,
          dataDir: dir,
          smtpUrl: smtp.url,
          ...extra,
        });
        processes.push(p);
        return p;
      },
      spawn(name) {
        const env = { bootstrap: mock.bootstrap, prefix, dataDir: dir, smtpUrl: smtp.url };
        const spawned = spawnDecider(name, env);
        void spawned.ready.then(
          (p) => processes.push(p),
          () => undefined,
        );
        return spawned;
      },
    };
  }

  it(
    'two processes see the same new error, regression, first use and assert at once: one email each',
    async () => {
      const { smtp, dataDir, start, prefix } = await setup();
      const [a, b] = await Promise.all([start('a'), start('b')]);
      const things = () => [
        errorEvent('renderCart', 'u-1'),
        errorEvent('renderCart', 'u-2'),
        featureEvent('export-csv', 'u-1', 'acme'),
        featureEvent('export-csv', 'u-2', 'globex'),
        assertEvent('cart-total-matches'),
      ];
      // The same events reach both dispatchers (several source partitions), twice each.
      const results = await Promise.all([a, b, a, b].map((p) => p.export(things())));
      expect(results.every((r) => r.status === 'ok')).toBe(true);
      await quiescent(admin, prefix, [a, b]);
      const error = errorEvent('renderCart');
      expectOnce(smtp.subjects, [
        '[Telltale] New error in shop: TypeError: boom in renderCart',
        '[Telltale] First use of feature "export-csv" in shop',
        '[Telltale] Account acme used "export-csv" for the first time (shop)',
        '[Telltale] Account globex used "export-csv" for the first time (shop)',
        '[Telltale] New failing assert in shop: cart-total-matches',
      ]);

      // Resolved on the dashboards (another process, the shared data volume), then seen again.
      const groups = await openGroupStates(dataDir);
      await groups.resolve('shop', error.fingerprint!);
      await groups.close();
      await Promise.all([a, b, a, b].map((p) => p.export([errorEvent('renderCart', 'u-3')])));
      await quiescent(admin, prefix, [a, b]);
      expect(smtp.subjects.filter((s) => s.startsWith('[Telltale] Regression in shop'))).toEqual([
        '[Telltale] Regression in shop: TypeError: boom in renderCart',
      ]);
      expect(smtp.subjects).toHaveLength(6);

      // A mute rule added on the dashboards (the shared volume) silences the next new assert everywhere.
      const rules = await openMuteRules(dataDir);
      expect((await rules.add({ message: 'noisy-*', note: 'test' })).ok).toBe(true);
      await Promise.all(
        [a, b].map((p) => p.export([assertEvent('noisy-retry'), assertEvent('noisy-retry')])),
      );
      await quiescent(admin, prefix, [a, b]);
      expect(smtp.subjects).toHaveLength(6);
      const muted = await Promise.all([a, b].map(async (p) => (await p.stats()).muted));
      expect(muted[0]! + muted[1]!).toBe(1);

      // The dashboards' process lists them from the alert-log topic: every partition, newest first, paged.
      const reader = await startKafkaAlertReader({
        settings: {
          brokers: [mock.bootstrap],
          clientId: 'dashboards',
          topicPrefix: prefix,
          idempotent: false,
        },
        dataDir,
      });
      cleanups.push(() => reader.close());
      const all = await reader.listAlerts();
      expect(all.map((x) => x.status).sort()).toEqual(['muted', ...Array<string>(6).fill('sent')]);
      expect(all.find((x) => x.kind === 'new-assert' && x.status === 'muted')?.key).toBe(
        'new-assert:shop:noisy-retry',
      );
      const first = await reader.listAlerts({ limit: 4 });
      const last = first[first.length - 1]!;
      const rest = await reader.listAlerts({ before: { time: Date.parse(last.createdAt), key: last.key } });
      expect([...first, ...rest]).toEqual(all);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a third member joins and leaves mid-stream: still one email per new error',
    async () => {
      const { smtp, start, prefix } = await setup();
      const [a, b] = await Promise.all([start('a'), start('b')]);
      const expected: string[] = [];
      const round = async (n: number, live: readonly DeciderProcess[]): Promise<void> => {
        const batch = Array.from({ length: 6 }, (_, i) => `render${n}x${i}`);
        expected.push(...batch.map((fn) => `[Telltale] New error in shop: TypeError: boom in ${fn}`));
        // Every live dispatcher gets the same errors, as if they arrived on several partitions.
        const results = await Promise.all(live.map((p) => p.export(batch.map((fn) => errorEvent(fn)))));
        expect(results.map((r) => r.status)).toEqual(live.map(() => 'ok'));
      };
      await round(0, [a, b]);
      await round(1, [a, b]);
      const c = await start('c');
      // The join rebalances while these are being decided.
      await round(2, [a, b, c]);
      await round(3, [a, b, c]);
      await waitForOwners('three members, each owning partitions', [a, b, c], 60_000);
      await round(4, [a, b, c]);
      // c leaves while round 5 is in flight; its partitions go back to a and b.
      await Promise.all([round(5, [a, b, c]), c.stop()]);
      await round(6, [a, b]);
      await waitForOwners('two members again', [a, b], 60_000);
      await round(7, [a, b]);
      await quiescent(admin, prefix, [a, b]);
      expectOnce(smtp.subjects, expected);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a member joins while the owner is mid-send: the owner finishes and logs it before handing over, one email',
    async () => {
      const { smtp, start, spawn, prefix } = await setup(false);
      const a = await start('a');
      expect((await a.export([errorEvent('renderSlowly')])).status).toBe('ok');
      await waitForHeld(smtp);
      const joining = spawn('b');
      // B joins as soon as it started; a notices the rebalance at its next heartbeat (0.6 s) while its
      // send is held. Held 3 s more, the gate opens: a must finish and log the send before it rejoins
      // (kafkajs rejoins after the batch returns), so b finds it sent. (b's start-up itself waits for
      // its join, which waits for a: hence the gate opens before b is ready.)
      await joining.starting;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      smtp.open();
      const b = await joining.ready;
      // The mock cluster drops a member slow to rejoin and lets it join again later: on a loaded
      // machine the second owner can take over a minute to settle.
      await waitForOwners('both members owning partitions', [a, b], 120_000);
      await quiescent(admin, prefix, [a, b]);
      expectOnce(smtp.subjects, ['[Telltale] New error in shop: TypeError: boom in renderSlowly']);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a deciders consumer that kafkajs stops for good is replaced: the alerts are still decided, each once',
    async () => {
      const { smtp, start, prefix } = await setup();
      // Alone, `a` owns every partition: its first candidates batch is the one that crashes.
      const a = await start('a', { crashOnce: true });
      const first = ['renderCart', 'renderTotals', 'applyCoupon'];
      expect((await a.export(first.map((fn) => errorEvent(fn)))).status).toBe('ok');
      const replaced = await waitFor(
        'the crashed member replaced',
        async () => {
          const r = await a.restarts();
          return r.injected === 1 && r.restarts >= 1 ? r : undefined;
        },
        60_000,
      );
      expect(replaced.injected).toBe(1);
      await quiescent(admin, prefix, [a]);
      expect(await a.partitions()).toEqual([0, 1, 2, 3]);
      // A second member joins the replacement's group: the partitions split, nothing decided twice.
      const b = await start('b');
      const second = ['loadProfile', 'saveDraft', 'checkout', 'search', 'login', 'logout'];
      const results = await Promise.all([a, b].map((p) => p.export(second.map((fn) => errorEvent(fn)))));
      expect(results.map((r) => r.status)).toEqual(['ok', 'ok']);
      await waitForOwners('both members owning partitions', [a, b], 120_000);
      await quiescent(admin, prefix, [a, b]);
      expectOnce(
        smtp.subjects,
        [...first, ...second].map((fn) => `[Telltale] New error in shop: TypeError: boom in ${fn}`),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'kill -9 of the owner while it is deciding, then a restart: no alert lost, none sent twice',
    async () => {
      const { smtp, start, prefix } = await setup(false);
      const a = await start('a');
      const first = ['renderCart', 'renderTotals', 'applyCoupon'];
      expect((await a.export(first.map((fn) => errorEvent(fn)))).status).toBe('ok');
      // `a` decided (pending is in the alert log) and is stuck sending: the gate holds its MAIL FROM.
      await waitForHeld(smtp);
      // Candidates `a` will never decide: they wait in the topic for the next owner.
      const second = ['loadProfile', 'saveDraft'];
      expect(
        (await a.export([...second.map((fn) => errorEvent(fn)), featureEvent('export-csv')])).status,
      ).toBe('ok');
      await a.kill();
      expect(smtp.subjects).toEqual([]);
      smtp.open();
      const restarted = await start('a-restarted');
      await quiescent(admin, prefix, [restarted], 90_000);
      expectOnce(smtp.subjects, [
        ...[...first, ...second].map((fn) => `[Telltale] New error in shop: TypeError: boom in ${fn}`),
        '[Telltale] First use of feature "export-csv" in shop',
        '[Telltale] Account acme used "export-csv" for the first time (shop)',
      ]);
    },
    TEST_TIMEOUT_MS,
  );
});

async function waitForHeld(smtp: GatedSmtp): Promise<void> {
  await waitFor('the owner holding an SMTP transaction at the gate', () => smtp.held() > 0, 60_000);
}

/** Processes that own candidates partitions, when together they own all four exactly once. */
async function owners(live: readonly DeciderProcess[]): Promise<number> {
  const owned = await Promise.all(live.map((p) => p.partitions()));
  const all = owned.flat().sort();
  return all.join() === '0,1,2,3' ? owned.filter((o) => o.length > 0).length : -1;
}

/** Every process owns candidates partitions; on a timeout, says who owns what. */
async function waitForOwners(
  what: string,
  live: readonly DeciderProcess[],
  timeoutMs: number,
): Promise<void> {
  await waitFor(what, async () => (await owners(live)) === live.length, timeoutMs).catch(
    async (error: unknown) => {
      const owned = await Promise.all(live.map(async (p) => `${p.name}: [${(await p.partitions()).join()}]`));
      throw new Error(`${String(error)} (owned: ${owned.join('; ')})`);
    },
  );
}
