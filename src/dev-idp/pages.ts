/**
 * The development provider's HTML: the sign-in form and the error page. No scripts at all; the
 * one inline stylesheet is allowed by its SHA-256 hash in the page's own Content-Security-Policy
 * (CSP Level 3 §8.3 hash-source). Everything that came from a request is HTML-escaped.
 */
import { createHash } from 'node:crypto';
import { MAX_EMAIL_LENGTH, MAX_NAME_LENGTH } from './accounts.js';

// The same tokens as the demo page (web/style.css), so the two look like one product.
const STYLE = `
:root{color-scheme:light dark;--bg:#f6f8fc;--card:#fff;--fg:#1f1f1f;--muted:#545b63;--line:#dadce0;--accent:#0b57d0;--accent-fg:#fff;--warn-bg:#fef7e0;--warn-fg:#4d3800;--warn-line:#f0d58c;--err-bg:#fce8e6;--err-fg:#a50e0e;--shadow:0 1px 2px rgb(60 64 67/.12),0 2px 6px rgb(60 64 67/.08)}
@media (prefers-color-scheme:dark){:root{--bg:#111318;--card:#1b1e24;--fg:#e3e3e3;--muted:#a8adb4;--line:#3c4047;--accent:#a8c7fa;--accent-fg:#062e6f;--warn-bg:#3b2f00;--warn-fg:#ffe08a;--warn-line:#6b5500;--err-bg:#410e0b;--err-fg:#ffb4ab;--shadow:none}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;padding:0 16px 32px}
.brand{display:flex;align-items:center;gap:10px;font-weight:650;font-size:1.15rem;width:100%;max-width:420px;padding:24px 0 16px}
main{width:100%;max-width:420px;background:var(--card);border:1px solid var(--line);border-radius:16px;box-shadow:var(--shadow);padding:28px}
.banner{background:var(--warn-bg);color:var(--warn-fg);border:1px solid var(--warn-line);border-radius:12px;padding:10px 12px;margin:0 0 20px;font-size:14px}
.banner strong{display:block}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 4px}
p.sub{color:var(--muted);margin:0 0 20px;font-size:14px;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin:16px 0 4px}
label span{font-weight:400;color:var(--muted)}
input{width:100%;padding:10px 14px;border:1px solid #747775;border-radius:8px;background:var(--card);color:inherit;font:inherit}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.error{color:var(--err-fg);background:var(--err-bg);border-radius:8px;padding:8px 12px;margin:0 0 12px;overflow-wrap:anywhere}
.actions{display:flex;gap:8px;margin-top:24px}
button{flex:1;padding:10px;border-radius:999px;border:1px solid #747775;font:inherit;font-weight:600;cursor:pointer;background:transparent;color:inherit}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-fg)}
dl{margin:0;overflow-wrap:anywhere}dt{font-weight:600}dd{margin:0 0 8px}
`;

/** The demo page's logo (web/gatehouse.svg), inline: this page's CSP allows images from data: only. */
const LOGO = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#1a73e8"/><path d="M8 25V13l8-6 8 6v12h-5v-7a3 3 0 0 0-6 0v7z" fill="#fff"/></svg>',
)}`;

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
<div class="brand"><img src="${LOGO}" alt="" width="28" height="28"><span>Gatehouse</span></div>
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
