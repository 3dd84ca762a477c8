import { describe, expect, it } from 'vitest';
import {
  alertSubjectsJson,
  createSubjectFilter,
  enrichEnvelope,
  type EncodedEvents,
  type EnrichedEvent,
  type GroupState,
} from '@telltale/dispatchers';
import { clientBatch } from './corpus.js';

/** One hand-over of these events as the decode workers render it for the alerter. */
function encoded(events: EnrichedEvent[], regroupable: string[] = []): EncodedEvents {
  return {
    chunks: [Buffer.from(alertSubjectsJson(events))],
    rows: events.length,
    regroupable: new Set(regroupable),
    events: async () => events,
  };
}

describe('alert subjects: the alerter skips records that raise nothing new, without their rows', () => {
  const events = enrichEnvelope({
    ...clientBatch(1, 8),
    batch: { ...clientBatch(1, 8).batch, account: 'acme' },
  });
  const fingerprint = events.find((e) => e.kind === 'error')!.fingerprint!;
  const keys = [
    `new-error:shop:${fingerprint}`,
    'first-feature:shop:export-csv',
    'new-assert:shop:cart-total-positive',
  ];

  it('writes each distinct subject once, account keys included', () => {
    expect(JSON.parse(alertSubjectsJson(events))).toEqual([
      [keys[0], 'shop', fingerprint],
      [keys[1], 'shop', ''],
      ['first-feature-account:shop:export-csv:acme', 'shop', ''],
      [keys[2], 'shop', ''],
    ]);
  });

  it('answers "may raise" for an undecided key, a resolved group, or a release with source maps', async () => {
    const known = new Set(keys);
    const groups = new Map<string, GroupState['status']>();
    const filter = (firstUsePerAccount = false, maps = false) =>
      createSubjectFilter({
        log: { has: (key) => known.has(key) },
        groups: {
          get: (_app, fp) => (groups.has(fp) ? ({ status: groups.get(fp) } as GroupState) : undefined),
        },
        regroup: { mayChange: async (releases) => maps && releases.size > 0 },
        firstUsePerAccount,
      });
    expect(await filter()(encoded(events))).toEqual([]);
    // The account's first use is a subject only with first use per account on.
    expect(await filter(true)(encoded(events))).toEqual([0]);
    known.delete('new-assert:shop:cart-total-positive');
    expect(await filter()(encoded(events))).toEqual([0]);
    known.add('new-assert:shop:cart-total-positive');
    // A resolved group may regress: decided on the rows, as before.
    groups.set(fingerprint, 'resolved');
    expect(await filter()(encoded(events))).toEqual([0]);
    // An ignored group never alerts, decided or not.
    groups.set(fingerprint, 'ignored');
    known.delete(keys[0]!);
    expect(await filter()(encoded(events))).toEqual([]);
    known.add(keys[0]!);
    groups.clear();
    expect(await filter(false, true)(encoded(events, ['shop\u00001.4.2']))).toEqual([0]);
    // Only the records with something undecided go to the alerter as rows.
    const other = enrichEnvelope(clientBatch(2, 2, Date.now(), 'blog'));
    const two: EncodedEvents = {
      chunks: [Buffer.from(alertSubjectsJson(events)), Buffer.from(alertSubjectsJson(other))],
      rows: events.length + other.length,
      regroupable: new Set(),
      events: async () => [...events, ...other],
    };
    expect(await filter()(two)).toEqual([1]);
  });
});
