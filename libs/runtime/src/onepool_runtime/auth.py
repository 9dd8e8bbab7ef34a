"""Authentication (JWT bearer tokens) and authorization (a role table per service), in one stage of the call pipeline.

Roles: admin, service (other OnePool services), channel (bound to a channel id), dealer (bound to a dealer
id) and store (bound to a location id). The scope of a caller always comes from its verified token; use
cases read it through `current_principal()` and the `require_*` helpers, never from the request body.

A token is accepted only if its signature, `exp`, `iss` (settings.jwt_issuer) and `aud` (settings.jwt_audience)
all check out. Keys: HS256 with the shared secret; RS256 with one public key; or RS256 keys chosen by the
token's `kid` from a JWKS document (settings.jwt_jwks: a file, re-read whenever it changes, or an http(s) URL
through PyJWT's PyJWKClient, cached for jwt_jwks_refresh_seconds and re-fetched, at most every 30 s, for an
unknown kid). The accepted algorithms are a fixed allow-list (HS256 for the secret, RS256 otherwise), never
what a token's header or a JWKS key asks for: a JWKS key that cannot verify RS256 (an EC, OKP or symmetric
key, an RSA key marked for another algorithm or for encryption) is left out when the document is read.
`exp`, `nbf` and `iat` are checked with auth_leeway_seconds of slack, as service tokens are minted with
iat=now on the calling host, whose clock may run a little ahead. Refused with UNAUTHENTICATED: a bad
signature, expired, wrong or missing issuer or audience, no role, a JWKS token without a kid or with a kid
the document does not hold (or holds for a key left out), a key that does not fit the token's algorithm, an
id claim (channel_id, dealer_id, location_id) that is not an id by validation.ID_RE (an absent one is no scope).
UNAVAILABLE: the JWKS URL cannot be fetched and no cached copy holds the kid.

Verified tokens are cached (`TokenCache`: a bounded LRU keyed by the raw token string) until
min(exp, now + auth_token_cache_seconds), so a caller that reuses its token pays the signature check once.
An entry is only ever used while the keys it was verified with are still the current ones: a reloaded JWKS
file, or a JWKS document re-fetched from its URL, makes every older entry a miss, so a retired key refuses its
tokens from the next call on, exactly as without the cache. Refusals are never cached.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from onepool_kernel.roles import CHANNEL, DEALER, PRIVILEGED, ROLES, SERVICE, STORE

from onepool_runtime import errors
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.validation import ID_RE

log = logging.getLogger(__name__)

PUBLIC_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str = ""
    channel_id: str = ""
    dealer_id: str = ""
    location_id: str = ""

    @property
    def is_privileged(self) -> bool:
        return self.role in PRIVILEGED


# Used when auth is disabled (ONEPOOL_AUTH_ENABLED=false) and by in-process calls that bypass gRPC.
SYSTEM = Principal(role=SERVICE, subject="system")

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("onepool_principal", default=SYSTEM)


def current_principal() -> Principal:
    return _principal.get()


# The longest id (validation.ID_RE): an escaped scope longer than this is replaced by its digest, so a scoped
# key is never longer than one built from an unescaped id (the key columns hold 255 characters).
_SCOPE_MAX = 64


def _scope_part(scope: str) -> str:
    """`scope` made free of ':' so that `role:scope:request_id` names one caller and one request only (ids and
    request ids may both contain ':'). An id with neither ':' nor '%' is kept as it is, so its keys are the
    ones stored before this escaping existed and a retry across an upgrade still finds its answer. Otherwise
    '%' and ':' are percent-escaped, or, if that outgrows an id, the scope's digest after '%%' (a pair that
    escaping never writes) stands for it."""
    if ":" not in scope and "%" not in scope:
        return scope
    escaped = scope.replace("%", "%25").replace(":", "%3A")
    if len(escaped) <= _SCOPE_MAX:
        return escaped
    return "%%" + hashlib.sha256(scope.encode()).hexdigest()[:40]


def scoped_key(request_id: str) -> str:
    """Idempotency keys belong to the caller's scope: a channel, dealer or store can never replay (and so read)
    another party's stored answer by guessing its request_id. Admin and service callers share one space."""
    p = current_principal()
    scope = {CHANNEL: p.channel_id, DEALER: p.dealer_id, STORE: p.location_id}.get(p.role)
    return f"{p.role}:{_scope_part(scope)}:{request_id}" if scope else request_id


def require_dealer(dealer_id: str) -> None:
    """A dealer may only touch its own dealer's data; privileged callers may touch any."""
    p = current_principal()
    if p.role == DEALER and p.dealer_id != dealer_id:
        raise errors.PermissionDenied("dealer tokens may only access their own dealer's data")


def require_channel(channel_id: str) -> None:
    p = current_principal()
    if p.role == CHANNEL and p.channel_id != channel_id:
        raise errors.PermissionDenied("channel tokens may only access their own channel")


def require_location(location_id: str) -> None:
    p = current_principal()
    if p.role == STORE and p.location_id != location_id:
        raise errors.PermissionDenied("store tokens may only act for their own location")


# --- tokens -----------------------------------------------------------------------------------------


def _read(path: str) -> str:
    return Path(path).read_text()


def signing_key(settings: ServiceSettings) -> tuple[str, str]:
    if settings.jwt_private_key_file:
        return _read(settings.jwt_private_key_file), "RS256"
    return settings.jwt_secret, "HS256"


def verification_key(settings: ServiceSettings) -> tuple[str, str]:
    if settings.jwt_public_key_file:
        return _read(settings.jwt_public_key_file), "RS256"
    return settings.jwt_secret, "HS256"


def mint_token(
    settings: ServiceSettings,
    role: str,
    *,
    subject: str = "",
    channel_id: str = "",
    dealer_id: str = "",
    location_id: str = "",
    ttl_seconds: int = 3600,
) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    bound = {CHANNEL: channel_id, DEALER: dealer_id, STORE: location_id}
    if role in bound and not bound[role]:
        raise ValueError(f"a {role} token must be bound to a {'location' if role == STORE else role} id")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject or f"{role}:{bound.get(role) or 'dev'}",
        "role": role,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    for claim, value in (("channel_id", channel_id), ("dealer_id", dealer_id), ("location_id", location_id)):
        if value:
            claims[claim] = value
    key, alg = signing_key(settings)
    headers = {"kid": settings.jwt_key_id} if settings.jwt_key_id and alg == "RS256" else None
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


# What a JWKS-chosen key must verify: the only algorithm accepted for JWKS tokens.
JWKS_ALGORITHM = "RS256"


def _verifies_jwks_tokens(jwk: jwt.PyJWK) -> bool:
    """Whether `jwk` is an RSA signing key meant for RS256 (an `alg` naming another algorithm, or `use` other
    than sig, rules it out: RFC 7517 4.2, 4.4)."""
    return jwk.key_type == "RSA" and jwk.algorithm_name == JWKS_ALGORITHM and jwk.public_key_use in (None, "sig")


def _public(key: Any) -> Any:
    """A JWKS may publish a private key by mistake: verify with its public half (PyJWT cannot verify with it)."""
    return key.public_key() if isinstance(key, RSAPrivateKey) else key


class JwksFile:
    """A JWKS document on disk, re-read when its size, mtime or inode changes (a rotation is a file write).
    A document that cannot be read or parsed keeps the previous keys and is tried again on the next call."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._stamp: tuple[int, int, int] | None = None
        self._keys: jwt.PyJWKSet | None = None
        self._lock = threading.Lock()
        self._reload()
        if self._keys is None:
            raise ValueError(f"cannot load the JWKS document {path!r}")

    def _reload(self) -> None:
        try:
            st = os.stat(self._path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return
            keys = jwt.PyJWKSet.from_json(Path(self._path).read_text())
            usable = [k for k in keys.keys if _verifies_jwks_tokens(k)]
            if not usable:
                raise ValueError(f"no key in it can verify {JWKS_ALGORITHM} tokens")
        except (OSError, ValueError, jwt.PyJWKSetError, jwt.PyJWKError) as exc:
            log.warning("JWKS %s not (re)loaded, keeping the previous keys: %s", self._path, exc)
            return
        skipped = sorted(str(k.key_id) for k in keys.keys if k not in usable)
        if skipped:
            log.warning(
                "JWKS %s: key ids %s cannot verify %s tokens and are ignored", self._path, skipped, JWKS_ALGORITHM
            )
        keys.keys = usable
        self._keys, self._stamp = keys, stamp
        log.info("JWKS %s loaded: key ids %s", self._path, sorted(str(k.key_id) for k in usable))

    def key(self, kid: str) -> Any:
        with self._lock:
            self._reload()
            try:
                return _public(self._keys[kid].key)  # type: ignore[index]  # never None once constructed
            except KeyError:
                raise errors.Unauthenticated(f"unknown signing key id {kid!r}") from None

    def generation(self) -> object:
        """The key set in force (re-read first if the file changed): a new object after every reload."""
        with self._lock:
            self._reload()
            return self._keys


class _RsaJwkClient(jwt.PyJWKClient):
    """PyJWT's client, offering only the keys that can verify JWKS tokens: a kid naming any other key is
    an unknown kid."""

    def get_signing_keys(self, refresh: bool = False) -> list[jwt.PyJWK]:
        return [k for k in super().get_signing_keys(refresh) if _verifies_jwks_tokens(k)]


class JwksUrl:
    """A JWKS document served over http(s), through PyJWT's client (cached; refetched for an unknown kid)."""

    def __init__(self, url: str, refresh_seconds: float) -> None:
        self._client = _RsaJwkClient(url, cache_jwk_set=True, lifespan=refresh_seconds, timeout=5)

    def key(self, kid: str) -> Any:
        try:
            return _public(self._client.get_signing_key(kid).key)
        except jwt.PyJWKClientConnectionError as exc:
            raise errors.Unavailable("the JWKS endpoint cannot be reached to check the token's key") from exc
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            raise errors.Unauthenticated(f"unknown signing key id {kid!r}") from exc

    def generation(self) -> object | None:
        """The cached key set while it is fresh (a new object after every fetch); None once it has expired,
        so nothing verified against it is trusted until the document has been fetched again. Never blocks."""
        cache = self._client.jwk_set_cache
        return cache.get() if cache is not None else None


def jwks_source(settings: ServiceSettings) -> JwksFile | JwksUrl | None:
    source = settings.jwt_jwks
    if not source:
        return None
    if source.startswith(("http://", "https://")):
        return JwksUrl(source, settings.jwt_jwks_refresh_seconds)
    return JwksFile(source)


class TokenCache:
    """Verified tokens: raw token -> (principal, valid until (epoch seconds), key generation). Bounded LRU.
    Thread-safe: a JWKS URL verifier stores from worker threads."""

    def __init__(self, size: int, ttl_seconds: float) -> None:
        self._size = size
        self._ttl = ttl_seconds
        self._entries: OrderedDict[str, tuple[Principal, float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._size > 0 and self._ttl > 0

    def get(self, token: str, generation: object | None) -> Principal | None:
        """The principal of a token verified earlier, if its time is not up and the keys have not changed."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                principal, until, verified_with = entry
                if time.time() < until and generation is not None and verified_with is generation:
                    self._entries.move_to_end(token)
                    self.hits += 1
                    return principal
                del self._entries[token]
            self.misses += 1
            return None

    def put(self, token: str, principal: Principal, expires_at: float, generation: object | None) -> None:
        if generation is None:
            return
        until = min(expires_at, time.time() + self._ttl)
        with self._lock:
            self._entries[token] = (principal, until, generation)
            self._entries.move_to_end(token)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


_STATIC_KEY = object()  # the generation of a key that never changes (a shared secret or one public key)


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self._jwks = jwks_source(settings)
        self._key, self._alg = ("", JWKS_ALGORITHM) if self._jwks else verification_key(settings)
        self._audience = settings.jwt_audience
        self._leeway = settings.auth_leeway_seconds
        self._issuer = settings.jwt_issuer
        self.cache = TokenCache(settings.auth_token_cache_size, settings.auth_token_cache_seconds)

    def _generation(self) -> object | None:
        return _STATIC_KEY if self._jwks is None else self._jwks.generation()

    def cached(self, token: str) -> Principal | None:
        """The principal if this very token was verified with the keys still in force and has not expired.
        Never blocks (a JWKS URL is not fetched here)."""
        if not self.cache.enabled:
            return None
        return self.cache.get(token, self._generation())

    @property
    def blocking(self) -> bool:
        """True when verifying may wait on the network (a JWKS URL)."""
        return isinstance(self._jwks, JwksUrl)

    def _key_for(self, token: str) -> Any:
        if self._jwks is None:
            return self._key
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise errors.Unauthenticated(f"invalid token: {exc.__class__.__name__}") from exc
        if not isinstance(kid, str) or not kid:
            raise errors.Unauthenticated("token names no signing key id (kid)")
        return self._jwks.key(kid)

    def verify(self, token: str) -> Principal:
        """Check the token (the cache first); raises Unauthenticated, or Unavailable for an unreachable JWKS."""
        if not self.cache.enabled:
            return self._verify(token)[0]
        principal = self.cached(token)
        if principal is not None:
            return principal
        # Read before verifying: keys that change meanwhile leave an entry that never matches, never one
        # that outlives its key.
        generation = self._generation()
        principal, expires_at = self._verify(token)
        self.cache.put(token, principal, expires_at, generation)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "aud", "iss", "role"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise errors.Unauthenticated("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise errors.Unauthenticated("token audience mismatch") from exc
        except jwt.InvalidIssuerError as exc:
            raise errors.Unauthenticated("token issuer mismatch") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise errors.Unauthenticated(f"token lacks the required {exc.claim!r} claim") from exc
        except jwt.InvalidTokenError as exc:
            raise errors.Unauthenticated(f"invalid token: {exc.__class__.__name__}") from exc
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            # The key cannot be used with the token's algorithm (PyJWT's InvalidKeyError, or a TypeError
            # from the key's preparation): the token is not one of ours, whatever it claims.
            raise errors.Unauthenticated("the token's signing key does not fit its algorithm") from exc
        role = claims.get("role")
        if role not in ROLES:
            raise errors.Unauthenticated("token has no valid role")
        principal = Principal(
            role=role,
            subject=str(claims.get("sub", "")),
            channel_id=_id_claim(claims, "channel_id"),
            dealer_id=_id_claim(claims, "dealer_id"),
            location_id=_id_claim(claims, "location_id"),
        )
        bound = {CHANNEL: principal.channel_id, DEALER: principal.dealer_id, STORE: principal.location_id}
        if role in bound and not bound[role]:
            raise errors.Unauthenticated(f"{role} token is not bound to an id")
        return principal, float(claims["exp"])


def _id_claim(claims: Mapping[str, Any], name: str) -> str:
    """An id claim as scope: absent or empty is "" (no scope; a role bound to it is refused for lacking it),
    anything but a well-formed id is refused. str() of a null or a list would scope the caller to "None" or
    "['D-1']", and a NUL byte reached PostgreSQL as INTERNAL."""
    if claims.get(name, "") == "":
        return ""
    value = claims[name]
    if not isinstance(value, str) or not ID_RE.match(value):
        raise errors.Unauthenticated(f"token claim {name} is not a valid id")
    return value


# --- authorization of a call ----------------------------------------------------------------------

Policy = Mapping[str, frozenset[str]]


def policy(service: str, table: Mapping[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    """Build a method -> allowed roles table; keys are RPC names of `service` (full proto name)."""
    return {f"/{service}/{rpc}": frozenset(roles) for rpc, roles in table.items()}


class Authorizer:
    """Who is calling and whether it may call this method. Fail closed: a method missing from the policy
    table is refused to everyone but admin. The call pipeline (pipeline.py) runs it for every call of a
    service's own methods (health and reflection never see it) and puts the principal into the call's
    context."""

    def __init__(self, settings: ServiceSettings, table: Policy) -> None:
        self.enabled = settings.auth_enabled
        self._verifier = TokenVerifier(settings)
        self._table = dict(table)

    async def authorize(self, method: str, metadata: tuple[Any, ...] | None) -> Principal:
        """The caller's principal; raises Unauthenticated / PermissionDenied (Unavailable: JWKS unreachable)."""
        token = ""
        for key, value in metadata or ():
            if key == "authorization":
                scheme, _, token = str(value).partition(" ")
                if scheme.lower() != "bearer":
                    raise errors.Unauthenticated("authorization must be 'Bearer <token>'")
        if not token:
            raise errors.Unauthenticated("missing bearer token")
        token = token.strip()
        principal = self._verifier.cached(token)
        if principal is None:
            if self._verifier.blocking:
                principal = await asyncio.to_thread(self._verifier.verify, token)
            else:
                principal = self._verifier.verify(token)
        allowed = self._table.get(method, _ADMIN_ONLY)
        if principal.role not in allowed:
            raise errors.PermissionDenied(f"role {principal.role!r} may not call {method.rsplit('/', 1)[-1]}")
        return principal

    @staticmethod
    def enter(principal: Principal) -> None:
        """Make `principal` the current call's (set inside the call's own task, so everything it runs sees it)."""
        _principal.set(principal)


_ADMIN_ONLY = frozenset({"admin"})
