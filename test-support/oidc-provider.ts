// A real OpenID provider for tests: the certified `oidc-provider` package, in-process on 127.0.0.1,
// with one registered confidential client and accounts whose claims the test chooses. Its built-in
// login form (devInteractions) takes the account id as "login" and any password.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-expect-error oidc-provider ships no type declarations; the few calls below are typed by hand
import Provider from 'oidc-provider';

export interface TestAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface TestProvider {
  /** The issuer URL, e.g. http://localhost:40123 */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Discovery requests seen (GET /.well-known/openid-configuration). */
  discoveries: number;
  /** UserInfo requests seen (GET /me). */
  userinfoRequests: number;
  close(): Promise<void>;
}

export interface TestProviderOptions {
  /** The app's callback, registered as the client's only redirect URI. */
  redirectUri: string;
  /** Account id (what the login form takes) → its claims. */
  accounts: Record<string, TestAccount>;
  /** Listen on this port (to bring up an IdP that was down); default a free one. */
  port?: number;
  clientId?: string;
  clientSecret?: string;
  /**
   * Put email and name in the ID token itself (as Google or Entra do). By default this provider, true
   * to the spec, serves scope claims from UserInfo only.
   */
  claimsInIdToken?: boolean;
}

interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

export async function startTestProvider(options: TestProviderOptions): Promise<TestProvider> {
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const counts = { discoveries: 0, userinfo: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/.well-known/openid-configuration')) counts.discoveries++;
    if (req.url?.startsWith('/me')) counts.userinfo++;
    handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  // "localhost", not 127.0.0.1: another site than the app's, so the login is cross-site as in real life
  // (SameSite cookies behave as they would with a real IdP).
  const issuer = `http://localhost:${(server.address() as AddressInfo).port}`;
  const clientId = options.clientId ?? 'telltale-test';
  const clientSecret = options.clientSecret ?? 'test-client-secret-with-enough-entropy-0123456789';

  const provider = new (Provider as new (issuer: string, config: object) => ProviderInstance)(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    conformIdTokenClaims: options.claimsInIdToken !== true,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx: unknown, id: string) {
      const account = options.accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
    // Telltale is a first-party client here: no consent screen, as a company IdP would configure it.
    async loadExistingGrant(ctx: {
      oidc: {
        client: { clientId: string };
        session: { accountId: string };
        provider: { Grant: new (o: object) => { addOIDCScope(s: string): void; save(): Promise<string> } };
      };
    }) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    // PKCE required for every client, so a login without S256 would fail the test.
    pkce: { required: () => true },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    ttl: {
      Session: 600,
      Interaction: 600,
      Grant: 600,
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
    },
    features: { devInteractions: { enabled: true } },
  });
  handle = provider.callback();
  return {
    issuer,
    clientId,
    clientSecret,
    get discoveries() {
      return counts.discoveries;
    },
    get userinfoRequests() {
      return counts.userinfo;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A port that was free a moment ago. Close-then-bind: another process may take it before it is used.
 * @deprecated Use holdPort (keeps it until released) or withFreshPorts (retries on a conflict) from ports.ts.
 */
export async function reservePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
