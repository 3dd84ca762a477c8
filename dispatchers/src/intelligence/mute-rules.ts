import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EnrichedEvent } from '../pipeline/index.js';
import { writeFileDurably } from '@telltale/spool';
import { dataLayout, LIMITS } from '@telltale/protocol';

/**
 * Everything alerts by default; a mute rule silences the alerts a team can do nothing about
 * (connection timeouts, a virus scanner's injected script). Every field given must match.
 *
 * Patterns are globs, not regular expressions: `*` is any run of characters, `?` one character,
 * matching is case-insensitive and covers the whole value. A glob runs in time proportional to
 * pattern × text length whatever it contains, so no rule can stall the alerter (no catastrophic
 * backtracking), and its length is bounded.
 */
export const MUTE_FIELDS = ['message', 'type', 'browser', 'url', 'release', 'environment'] as const;
export type MuteField = (typeof MUTE_FIELDS)[number];

export interface MuteRuleInput {
  /** Only this app's alerts; unset: every app. */
  app?: string;
  /** Error message; for other alerts the assert or feature name. */
  message?: string;
  /** Error type (`TypeError`); for other alerts the event kind (`assert`, `feature`). */
  type?: string;
  /** Browser name as parsed from the User-Agent (`Chrome`, `Firefox`, `Mobile Safari`). */
  browser?: string;
  /** URL path of the page (`/admin/*`). */
  url?: string;
  release?: string;
  environment?: string;
  /** Why the rule exists, for the next person who reads the list. */
  note?: string;
}

export interface MuteRule extends MuteRuleInput {
  id: string;
  /** ISO time the rule was added. */
  createdAt: string;
}

export type MuteRuleCheck = { ok: true; rule: MuteRuleInput } | { ok: false; field: string; message: string };
export type MuteRuleAdded = { ok: true; rule: MuteRule } | { ok: false; field: string; message: string };

export const MUTE_LIMITS = Object.freeze({ maxPatternLength: 200, maxNoteLength: 500, maxRules: 200 });

/** Whole-value, case-insensitive glob match; O(pattern × text), never exponential. */
export function matchGlob(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  let pi = 0;
  let ti = 0;
  let star = -1;
  let resume = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi += 1;
      ti += 1;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi;
      resume = ti;
      pi += 1;
    } else if (star >= 0) {
      // Let the last `*` swallow one more character; earlier stars never need revisiting.
      pi = star + 1;
      resume += 1;
      ti = resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi += 1;
  return pi === p.length;
}

/** Checks a rule as received from the dashboard, the API or the CLI. */
export function validateMuteRule(input: unknown): MuteRuleCheck {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return {
      ok: false,
      field: '',
      message: 'a rule is an object such as {"message": "*ResizeObserver loop*"}',
    };
  const raw = input as Record<string, unknown>;
  const rule: MuteRuleInput = {};
  for (const field of [...MUTE_FIELDS, 'app', 'note'] as const) {
    const value = raw[field];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') return { ok: false, field, message: `${field} must be a string` };
    const max = field === 'note' ? MUTE_LIMITS.maxNoteLength : MUTE_LIMITS.maxPatternLength;
    if (value.length > max)
      return {
        ok: false,
        field,
        message: `${field} is ${value.length} characters; at most ${max} are allowed`,
      };
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value))
      return { ok: false, field, message: `${field} must not contain control characters` };
    rule[field] = value.trim();
  }
  const unknown = Object.keys(raw).filter(
    (k) => ![...MUTE_FIELDS, 'app', 'note', 'id', 'createdAt'].includes(k as MuteField),
  );
  if (unknown.length > 0)
    return {
      ok: false,
      field: unknown[0] ?? '',
      message: `unknown field; use ${MUTE_FIELDS.join(', ')}, app or note`,
    };
  if (!MUTE_FIELDS.some((field) => rule[field] !== undefined))
    return {
      ok: false,
      field: 'message',
      message: `a rule needs at least one of ${MUTE_FIELDS.join(', ')}; a rule matching everything would mute every alert`,
    };
  return { ok: true, rule };
}

/** The values a rule is matched against, per field. */
function valuesOf(event: EnrichedEvent): Record<MuteField, string | null> {
  return {
    message: event.message ?? event.name,
    type: event.errorType ?? event.kind,
    browser: event.browser,
    url: event.url,
    release: event.release,
    environment: event.environment,
  };
}

export function ruleMatches(rule: MuteRuleInput, event: EnrichedEvent): boolean {
  if (rule.app !== undefined && rule.app !== event.app) return false;
  const values = valuesOf(event);
  return MUTE_FIELDS.every((field) => {
    const pattern = rule[field];
    if (pattern === undefined) return true;
    const value = values[field];
    // Capped like every stored string, so a rule costs at most pattern (≤ 200) × 8 KB steps.
    return value !== null && matchGlob(pattern, value.slice(0, LIMITS.maxStringLength));
  });
}

export interface MuteRules {
  readonly file: string;
  list(): MuteRule[];
  add(input: unknown): Promise<MuteRuleAdded>;
  remove(id: string): Promise<boolean>;
  /** The first rule that mutes this event's alert, if any. */
  match(event: EnrichedEvent): MuteRule | undefined;
}

export function muteRulesFile(dataDir: string): string {
  return dataLayout(dataDir).muteRules;
}

/** The rules live in one small JSON file, rewritten whole (tmp + fsync + rename) on every change. */
export async function openMuteRules(dataDir: string, now: () => number = Date.now): Promise<MuteRules> {
  const file = muteRulesFile(dataDir);
  await mkdir(path.dirname(file), { recursive: true });
  let rules: MuteRule[] = [];
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '[]';
    throw error;
  });
  const parsed: unknown = JSON.parse(text);
  if (Array.isArray(parsed)) {
    for (const entry of parsed) {
      const check = validateMuteRule(entry);
      const { id, createdAt } = entry as { id?: unknown; createdAt?: unknown };
      // A rule edited by hand into something unsafe is dropped, never matched.
      if (check.ok && typeof id === 'string' && typeof createdAt === 'string')
        rules.push({ ...check.rule, id, createdAt });
    }
  }
  let chain: Promise<unknown> = Promise.resolve();
  const save = (next: MuteRule[]): Promise<void> => {
    const step = chain.then(async () => {
      await writeFileDurably(file, `${JSON.stringify(next, null, 2)}\n`);
      rules = next;
    });
    chain = step.catch(() => undefined);
    return step;
  };

  return {
    file,
    list: () => [...rules],
    async add(input) {
      const check = validateMuteRule(input);
      if (!check.ok) return check;
      if (rules.length >= MUTE_LIMITS.maxRules)
        return { ok: false, field: '', message: `at most ${MUTE_LIMITS.maxRules} rules; remove one first` };
      const rule: MuteRule = {
        id: randomBytes(6).toString('hex'),
        createdAt: new Date(now()).toISOString(),
        ...check.rule,
      };
      await save([...rules, rule]);
      return { ok: true, rule };
    },
    async remove(id) {
      if (!rules.some((r) => r.id === id)) return false;
      await save(rules.filter((r) => r.id !== id));
      return true;
    },
    match: (event) => rules.find((rule) => ruleMatches(rule, event)),
  };
}
