"""Who is asking: the API key of each request, and what it may see and do.

Every route but the probes (/health, /ready) and the API's own description (/docs, /redoc,
/openapi.json) depends on `reader`, `writer` or `admin`. A collection outside a key's scope is
answered exactly as one that does not exist (same status, same message), and so are its documents
and logged queries: a key never learns that another collection exists.
"""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from llamapg.collections import unknown_collection
from llamapg.keys import UNRESTRICTED, ApiKey

bearer = HTTPBearer(auto_error=False, description="An API key from `llamapg keys create` (or `llamapg keys local`).")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def current_key(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> ApiKey:
    if not request.app.state.settings.auth:
        return UNRESTRICTED
    if credentials is None:
        raise HTTPException(401, "an API key is required: send `Authorization: Bearer <key>` "
                                 "(create one with `llamapg keys create`)", headers=CHALLENGE)
    key = request.app.state.keys.verify(request.app.state.pool, credentials.credentials)
    if key is None:
        raise HTTPException(401, "unknown or revoked API key", headers=CHALLENGE)
    return key


def _require(key: ApiKey, role: str) -> None:
    if not key.may(role):
        raise HTTPException(403, f"this key's role is {key.role}; this needs {role}")


def _role(needed: str):
    def check(key: ApiKey = Depends(current_key)) -> ApiKey:
        _require(key, needed)
        return key

    check.__name__ = f"{needed}_key"
    return check


reader = _role("read")
writer = _role("write")
admin = _role("admin")


def check_collection(key: ApiKey, name: str, role: str = "read") -> None:
    """Raise as for an unknown collection when `name` is outside the key's scope; 403 when the key
    sees it but its role is too low."""
    if not key.sees(name):
        raise unknown_collection(name)
    _require(key, role)

