import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '@telltale/spool';
import { dataLayout } from '@telltale/protocol';

export type Role = 'admin' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'viewer'];

export interface UserRecord {
  /** Lower-cased; the sign-in name. */
  email: string;
  role: Role;
  /** `scrypt$…` (password.ts). */
  passwordHash: string;
  createdAt: string;
  /** Changes with every password or role change: sessions made before it end. */
  updatedAt: string;
}

export interface TokenRecord {
  name: string;
  role: Role;
  /** sha256 of the token, hex: the token itself is shown once and never stored. */
  sha256: string;
  createdAt: string;
}

interface AccessFile {
  users: UserRecord[];
  tokens: TokenRecord[];
}

/** Where users and API tokens live: `<data>/auth/access.json`, 0600 in a 0700 folder. */
export const accessFilePath = (dataDir: string): string => dataLayout(dataDir).accessFile;

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();
/** Loose on purpose: the address is a sign-in name, never mailed; it only must look like one. */
export const isEmail = (email: string): boolean =>
  email.length <= 254 && /^[^\s@]{1,64}@[^\s@]{1,190}$/.test(email);
export const isTokenName = (name: string): boolean => /^[A-Za-z0-9._-]{1,64}$/.test(name);

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
export const newApiToken = (): string => `tt_api_${randomBytes(30).toString('base64url')}`;

/**
 * Users and API tokens in one small JSON file that the CLI writes and the server reads. The server
 * re-reads it when its size or mtime changes, so `telltale users remove` and `tokens revoke` apply
 * to the next request without a restart.
 */
export interface AccessStore {
  readonly file: string;
  users(): Promise<readonly UserRecord[]>;
  findUser(email: string): Promise<UserRecord | undefined>;
  /** The token's record when `token` is a live API token. */
  findToken(token: string): Promise<TokenRecord | undefined>;
  tokens(): Promise<readonly TokenRecord[]>;
  /**
   * Read, change and write back the whole file (durably, 0600), one update at a time in this process;
   * `change` returning false writes nothing.
   */
  update(change: (file: AccessFile) => boolean | void): Promise<void>;
}

export function openAccessStore(dataDir: string): AccessStore {
  const file = accessFilePath(dataDir);
  let cached: { stamp: string; contents: AccessFile } | undefined;
  let updates: Promise<void> = Promise.resolve();

  const load = async (): Promise<AccessFile> => {
    const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info === undefined) return { users: [], tokens: [] };
    const stamp = `${info.size}:${info.mtimeMs}:${info.ino}`;
    if (cached?.stamp === stamp) return cached.contents;
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<AccessFile>;
    const contents = { users: parsed.users ?? [], tokens: parsed.tokens ?? [] };
    cached = { stamp, contents };
    return contents;
  };

  return {
    file,
    users: async () => (await load()).users,
    findUser: async (email) => {
      const wanted = normalizeEmail(email);
      return (await load()).users.find((user) => user.email === wanted);
    },
    tokens: async () => (await load()).tokens,
    findToken: async (token) => {
      const digest = Buffer.from(sha256(token), 'hex');
      return (await load()).tokens.find((record) => {
        const stored = Buffer.from(record.sha256, 'hex');
        return stored.length === digest.length && timingSafeEqual(stored, digest);
      });
    },
    update: (change) => {
      // Serialised: a read-change-write racing another would lose one of them.
      const run = updates.then(async () => {
        const current = await load();
        const next: AccessFile = structuredClone({ users: [...current.users], tokens: [...current.tokens] });
        if (change(next) === false) return;
        const dir = path.dirname(file);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await chmod(dir, 0o700);
        await writeFileDurably(file, JSON.stringify(next, null, 2) + '\n', 0o600);
        cached = undefined;
      });
      updates = run.catch(() => undefined);
      return run;
    },
  };
}
