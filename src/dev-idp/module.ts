/**
 * Loads oidc-provider on first use only, so production (where the development provider never
 * starts) never loads it at all.
 *
 * oidc-provider 9 prints "Unsupported runtime. Use Node.js v22.x LTS" on import under Node 20,
 * which Gatehouse supports (package.json engines) and which this provider is tested on; that one
 * line, and only it, is kept out of a developer's first `npm start`.
 */
type OidcProviderModule = typeof import('oidc-provider');

let loading: Promise<OidcProviderModule> | undefined;

const RUNTIME_NOTICE = 'oidc-provider WARNING: Unsupported runtime';

export function loadOidcProvider(): Promise<OidcProviderModule> {
  loading ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes(RUNTIME_NOTICE)) return;
      warn.apply(console, args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })();
  return loading;
}
