/**
 * The development provider's HTML: the sign-in form and the error page. No scripts at all; the
 * one inline stylesheet is allowed by its SHA-256 hash in the page's own Content-Security-Policy
 * (CSP Level 3 §8.3 hash-source). Everything that came from a request is HTML-escaped.
 */
import { createHash } from 'node:crypto';
import { MAX_EMAIL_LENGTH, MAX_NAME_LENGTH } from './accounts.js';

const STYLE = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#f6f8fa;--card:#fff;--line:#d1d9e0;--accent:#1f6feb;--warn-bg:#fff8c5;--warn-line:#d4a72c;--err:#d1242f}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--card:#151b23;--line:#3d444d;--accent:#4493f8;--warn-bg:#3b2e00;--warn-line:#9e6a03;--err:#f85149}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;padding:16px}
main{width:100%;max-width:420px;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:24px}
.banner{background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:8px;padding:10px 12px;margin:0 0 20px;font-size:14px}
.banner strong{display:block}
h1{font-size:22px;margin:0 0 4px}
p.sub{color:var(--muted);margin:0 0 20px;font-size:14px;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin:14px 0 4px}
label span{font-weight:400;color:var(--muted)}
input{width:100%;padding:9px 10px;border:1px solid var(--line);border-radius:6px;background:transparent;color:inherit;font:inherit}
input:focus{outline:2px solid var(--accent);outline-offset:1px}
.error{color:var(--err);border:1px solid var(--err);border-radius:6px;padding:8px 10px;margin:0 0 12px;overflow-wrap:anywhere}
.actions{display:flex;gap:8px;margin-top:20px}
button{flex:1;padding:10px;border-radius:6px;border:1px solid var(--line);font:inherit;font-weight:600;cursor:pointer;background:transparent;color:inherit}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
dl{margin:0;overflow-wrap:anywhere}dt{font-weight:600}dd{margin:0 0 8px}
`;

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Response headers for every page. `form-action` lists the redirect-URI origins as well as
 * 'self' because browsers (Chromium) apply form-action to the redirects that follow a form
 * submission, and the sign-in form ends in a redirect to the relying party's callback.
 */
export function pageHeaders(formActionOrigins: readonly string[]): Record<string, string> {
  const formAction = ["'self'", ...new Set(formActionOrigins)].join(' ');
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; style-src ${STYLE_HASH}; img-src data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="banner" role="note"><strong>Development sign-in — not Google</strong>This is Gatehouse's built-in development provider. It accepts any email address and is never used in production.</div>
${body}
</main>
</body>
</html>
`;
}

export interface SignInView {
  /** Where the form posts (the interaction URL, under the mount path). */
  readonly action: string;
  /** The host the browser returns to afterwards (from the validated redirect_uri), if known. */
  readonly returnHost: string | null;
  readonly email: string;
  readonly name: string;
  readonly error: string | null;
}

export function signInPage(view: SignInView): string {
  const returnTo = view.returnHost
    ? `You will return to <strong>${escapeHtml(view.returnHost)}</strong> signed in as the identity you enter here.`
    : 'Enter any identity to sign in with.';
  const error = view.error ? `<p class="error" role="alert">${escapeHtml(view.error)}</p>` : '';
  return layout(
    'Development sign-in — not Google',
    `<h1>Sign in</h1>
<p class="sub">${returnTo}</p>
${error}<form method="post" action="${escapeHtml(view.action)}" autocomplete="on">
<label for="email">Email</label>
<input id="email" name="email" type="email" required maxlength="${MAX_EMAIL_LENGTH}" autocomplete="email" autofocus value="${escapeHtml(view.email)}">
<label for="name">Name <span>(optional)</span></label>
<input id="name" name="name" type="text" maxlength="${MAX_NAME_LENGTH}" autocomplete="name" value="${escapeHtml(view.name)}">
<div class="actions">
<button class="primary" type="submit" name="action" value="sign-in">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>`,
  );
}

export function errorPage(title: string, details: ReadonlyArray<readonly [string, string]>): string {
  const items = details.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  return layout(title, `<h1>${escapeHtml(title)}</h1>${items ? `<dl>${items}</dl>` : ''}`);
}
