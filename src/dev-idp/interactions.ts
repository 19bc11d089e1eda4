/**
 * The development provider's own interaction pages (oidc-provider's devInteractions are off):
 * GET shows the sign-in form, POST signs in as the typed identity, or cancels with
 * `access_denied` so the relying party's error path can be exercised.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InteractionDetails, Provider } from 'oidc-provider';
import type { Logger } from '../logger.js';
import { isValidEmail, MAX_NAME_LENGTH, type ProfileStore, profileFor } from './accounts.js';
import { readFormBody } from './form-body.js';
import { errorPage, pageHeaders, signInPage } from './pages.js';

/** The sign-in form is two short fields; anything near this size is not a browser's form post. */
export const FORM_BODY_LIMIT = 16 * 1024;

/** The scopes this provider grants (everything it supports; there is no consent screen). */
const GRANTABLE_SCOPES = new Set(['openid', 'email', 'profile']);

export interface InteractionDeps {
  readonly provider: Provider;
  readonly profiles: ProfileStore;
  /** Origins of the registered redirect URIs (for the pages' CSP form-action). */
  readonly redirectOrigins: readonly string[];
  readonly logger: Pick<Logger, 'debug' | 'warn' | 'error'>;
}

function send(
  res: ServerResponse,
  deps: InteractionDeps,
  status: number,
  html: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { ...pageHeaders(deps.redirectOrigins), ...extra });
  res.end(html);
}

function expiredPage(res: ServerResponse, deps: InteractionDeps): void {
  send(
    res,
    deps,
    400,
    errorPage('This sign-in attempt has expired', [
      ['What happened', 'The sign-in was started in another browser, finished already, or took too long.'],
      ['What to do', 'Go back to the application and sign in again.'],
    ]),
  );
}

function returnHostOf(details: InteractionDetails): string | null {
  const uri = details.params.redirect_uri;
  if (typeof uri !== 'string') return null;
  return URL.parse(uri)?.host ?? null;
}

async function loadDetails(
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  deps: InteractionDeps,
): Promise<InteractionDetails | undefined> {
  try {
    const details = await deps.provider.interactionDetails(req, res);
    // The cookie names the browser's interaction; a URL naming another one is not this browser's.
    if (details.uid === uid) return details;
  } catch (err) {
    deps.logger.debug({ err }, 'development provider: interaction not found');
  }
  return undefined;
}

function grantedScope(details: InteractionDetails): string {
  const requested = typeof details.params.scope === 'string' ? details.params.scope.split(' ') : [];
  return requested.filter((s) => GRANTABLE_SCOPES.has(s)).join(' ');
}

async function submit(
  req: IncomingMessage,
  res: ServerResponse,
  details: InteractionDetails,
  deps: InteractionDeps,
  action: string,
): Promise<void> {
  const body = await readFormBody(req, FORM_BODY_LIMIT);
  if (!body.ok) {
    const title = body.status === 413 ? 'The form is too large' : 'The form could not be read';
    send(res, deps, body.status, errorPage(title, []), body.closeConnection ? { connection: 'close' } : {});
    return;
  }
  const { form } = body;

  if (form.get('action') === 'cancel') {
    // RFC 6749 §4.1.2.1: the resource owner denied the request.
    await deps.provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  const email = (form.get('email') ?? '').trim();
  const name = (form.get('name') ?? '').trim();
  let error: string | null = null;
  if (!isValidEmail(email)) error = 'Enter a valid email address (at most 320 characters).';
  else if (name.length > MAX_NAME_LENGTH) error = `The name may be at most ${MAX_NAME_LENGTH} characters.`;
  if (error) {
    send(res, deps, 400, signInPage({ action, returnHost: returnHostOf(details), email, name, error }));
    return;
  }

  const profile = profileFor(email, name.length > 0 ? name : null);
  deps.profiles.save(profile);

  // Grant every requested supported scope here, so no separate consent prompt follows
  // (Google shows consent once per app; the development provider has nothing to ask).
  const clientId = details.params.client_id;
  if (typeof clientId !== 'string') throw new TypeError('interaction without a client_id');
  const grant = new deps.provider.Grant({ accountId: profile.sub, clientId });
  grant.addOIDCScope(grantedScope(details));
  const grantId = await grant.save();

  deps.logger.debug({ sub: profile.sub }, 'development provider: signed in');
  await deps.provider.interactionFinished(
    req,
    res,
    // remember: false makes the provider's own session cookie a session cookie (no Max-Age).
    { login: { accountId: profile.sub, remember: false, amr: ['pwd'] }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

/** Handles `${mountPath}/interaction/:uid` (GET: the form, POST: its submission). */
export async function handleInteraction(
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  action: string,
  deps: InteractionDeps,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') {
    req.resume();
    send(res, deps, 405, errorPage('Method not allowed', []), { allow: 'GET, HEAD, POST' });
    return;
  }
  const details = await loadDetails(req, res, uid, deps);
  if (!details) {
    req.resume();
    expiredPage(res, deps);
    return;
  }
  if (details.prompt.name !== 'login') {
    // Every authorization request starts without a provider session and consent is granted
    // together with the login, so only the login prompt can come here.
    req.resume();
    send(res, deps, 400, errorPage('Unexpected sign-in step', [['Prompt', details.prompt.name]]));
    return;
  }

  if (req.method === 'POST') {
    await submit(req, res, details, deps, action);
    return;
  }

  const hint = details.params.login_hint;
  const email = typeof hint === 'string' && isValidEmail(hint) ? hint : '';
  send(
    res,
    deps,
    200,
    signInPage({ action, returnHost: returnHostOf(details), email, name: '', error: null }),
  );
}
