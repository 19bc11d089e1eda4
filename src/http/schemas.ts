/**
 * Schema fragments shared by routes (OpenAPI security requirements and common responses).
 */

type SecurityRequirement = { readonly [scheme: string]: readonly string[] };

/** A protected route accepts the session cookie or a bearer token. */
export const SECURED: { readonly security: readonly SecurityRequirement[] } = {
  security: [{ sessionCookie: [] }, { bearer: [] }],
};

export const UNAUTHORIZED = { 401: { $ref: 'Problem#' } } as const;
