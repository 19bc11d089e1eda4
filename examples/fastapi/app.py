"""The tutorial's protected API, behind Gatehouse, without any OAuth code.

Gatehouse signs the user in with Google and sends every request on with
X-Gatehouse-Assertion: an ES256 JWT saying who the user is. This app trusts
nothing else: it verifies that JWT against Gatehouse's published keys (JWKS),
for this app's audience, and answers 401 otherwise.

Settings (environment):
  GATEHOUSE_ISSUER    Gatehouse's PUBLIC_URL (plus its route prefix, if any)
  GATEHOUSE_AUDIENCE  this app's audience: what Gatehouse puts in "aud"
  GATEHOUSE_JWKS_URL  where to fetch the keys (default: $GATEHOUSE_ISSUER/.well-known/jwks.json)

Run: GATEHOUSE_ISSUER=... GATEHOUSE_AUDIENCE=... python3 -m uvicorn app:app --port 9000
"""

import os
from typing import Any, Dict, List

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel

ISSUER = os.environ["GATEHOUSE_ISSUER"]
AUDIENCE = os.environ["GATEHOUSE_AUDIENCE"]
JWKS_URL = os.environ.get("GATEHOUSE_JWKS_URL", f"{ISSUER}/.well-known/jwks.json")

# Caches the key set (5 minutes) and refetches once when an assertion names an
# unknown kid, so Gatehouse's key rotation needs nothing from this app.
jwks = jwt.PyJWKClient(JWKS_URL, cache_jwk_set=True, lifespan=300)

app = FastAPI(title="Tutorial API behind Gatehouse")


def current_user(x_gatehouse_assertion: str | None = Header(default=None)) -> Dict[str, Any]:
    """The verified claims of the assertion, or 401."""
    if not x_gatehouse_assertion:
        raise HTTPException(status_code=401, detail="not signed in")
    try:
        key = jwks.get_signing_key_from_jwt(x_gatehouse_assertion)
        return jwt.decode(
            x_gatehouse_assertion,
            key.key,
            algorithms=["ES256"],  # only what Gatehouse signs with: never "none" or HS256
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=30,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise HTTPException(status_code=401, detail="invalid assertion") from error


@app.get("/health")
def health() -> Dict[str, str]:
    return {"status": "ok"}


@app.get("/chat")
def chat(user: Dict[str, Any] = Depends(current_user)) -> Dict[str, Any]:
    # The tutorial's response, now with an identity nobody could forge.
    return {"message": "Welcome!", "user": {"user_id": user["sub"], "user_email": user["email"]}}


@app.get("/me")
def me(user: Dict[str, Any] = Depends(current_user)) -> Dict[str, Any]:
    return {key: user.get(key) for key in ("sub", "email", "email_verified", "name", "hd", "roles", "groups")}


class Note(BaseModel):
    text: str


NOTES: Dict[str, List[str]] = {}


@app.get("/notes")
def list_notes(user: Dict[str, Any] = Depends(current_user)) -> Dict[str, Any]:
    return {"user_email": user["email"], "notes": NOTES.get(user["sub"], [])}


@app.post("/notes", status_code=201)
def add_note(note: Note, user: Dict[str, Any] = Depends(current_user)) -> Dict[str, Any]:
    NOTES.setdefault(user["sub"], []).append(note.text[:1000])
    return {"user_email": user["email"], "notes": NOTES[user["sub"]]}
