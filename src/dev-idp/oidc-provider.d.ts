/**
 * The small part of oidc-provider v9's API that the development provider uses. The package
 * ships no types and @types/oidc-provider is not a dependency, so this declares exactly what
 * src/dev-idp relies on (checked against node_modules/oidc-provider/lib).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type AdapterPayload = Record<string, unknown> & {
    readonly grantId?: string;
    readonly uid?: string;
    readonly userCode?: string;
    consumed?: number;
  };

  /** The storage contract of oidc-provider's `adapter` option (one instance per model name). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  /** The slice of the Koa context that configuration callbacks receive. */
  export interface KoaContextWithOIDC {
    status: number;
    type: string;
    body: unknown;
    set(field: string, value: string): void;
    readonly oidc: {
      readonly issuer: string;
      readonly client?: { readonly clientId: string };
      readonly route: string;
    };
  }

  export interface ClaimsResult {
    readonly sub: string;
    readonly [claim: string]: unknown;
  }

  export interface Account {
    readonly accountId: string;
    claims(use: string, scope: string): ClaimsResult | Promise<ClaimsResult>;
  }

  export interface InteractionDetails {
    readonly uid: string;
    readonly returnTo: string;
    readonly prompt: {
      readonly name: string;
      readonly reasons: readonly string[];
      readonly details: Readonly<Record<string, unknown>>;
    };
    readonly params: Readonly<Record<string, unknown>>;
    readonly grantId?: string;
  }

  export interface InteractionResults {
    readonly login?: { readonly accountId: string; readonly remember?: boolean; readonly amr?: string[] };
    readonly consent?: { readonly grantId: string };
    readonly error?: string;
    readonly error_description?: string;
  }

  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }

  export type Configuration = Readonly<Record<string, unknown>>;

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    proxy: boolean;
    readonly Grant: typeof Grant;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    cookieName(type: 'session' | 'interaction' | 'resume'): string;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export default Provider;
}
