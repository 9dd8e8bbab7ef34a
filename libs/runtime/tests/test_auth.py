"""Token verification and caller-scoped idempotency keys (onepool_runtime.auth), without a running service.

- A JWKS document may hold keys that cannot verify RS256 (EC, OKP, symmetric, or an RSA key meant for
  encryption): a token naming one by its kid is UNAUTHENTICATED, never INTERNAL, whether the document is a
  file or a URL, and such a key never verifies anything (no algorithm confusion).
- exp, nbf and iat have auth_leeway_seconds of slack: a token minted on a host whose clock runs a little
  ahead is accepted.
- Scoped keys name one caller and one request even when ids and request ids contain ':'; a key of an id
  without ':' or '%' is the one stored before the escaping (a retry across an upgrade finds its answer).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm
from onepool_runtime import auth, errors
from onepool_runtime.auth import Authorizer, Principal, TokenVerifier, scoped_key
from onepool_runtime.grpc_errors import refusal
from onepool_runtime.settings import ServiceSettings

SECRET = "a-shared-secret-of-at-least-32-bytes!"
OCT_SECRET = "the-symmetric-key-published-in-the-jwks!"


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"role": "admin", "aud": "onepool", "iss": "onepool", "iat": now, "exp": now + 600, **extra}


@pytest.fixture(scope="module")
def signer() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks(signer: rsa.RSAPrivateKey) -> dict[str, Any]:
    """A document with the RSA signing key beside keys of every other kind a JWKS may hold."""

    def jwk(text: str, **fields: str) -> dict[str, Any]:
        return {**json.loads(text), **fields}

    keys = [
        jwk(RSAAlgorithm.to_jwk(signer.public_key()), kid="rsa-1", use="sig", alg="RS256"),
        jwk(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()), kid="ec-1", use="sig"),
        jwk(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate().public_key()), kid="okp-1", use="sig"),
        jwk(HMACAlgorithm.to_jwk(OCT_SECRET.encode()), kid="oct-1", alg="HS256"),
        # RSA, but for encryption, or for another algorithm only: not a key RS256 tokens are verified with.
        jwk(RSAAlgorithm.to_jwk(signer.public_key()), kid="rsa-enc", use="enc"),
        jwk(RSAAlgorithm.to_jwk(signer.public_key()), kid="rsa-ps", alg="PS256"),
    ]
    return {"keys": keys}


@pytest.fixture(scope="module")
def jwks_file(tmp_path_factory: pytest.TempPathFactory, jwks: dict[str, Any]) -> Path:
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps(jwks))
    return path


@pytest.fixture(scope="module")
def jwks_url(jwks: dict[str, Any]) -> Iterator[str]:
    body = json.dumps(jwks).encode()

    class Serve(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def _code(authorizer: Authorizer, token: str) -> grpc.StatusCode:
    """The status a gRPC caller presenting `token` gets (OK when it is let in)."""
    try:
        asyncio.run(authorizer.authorize("/x.Y/Z", (("authorization", f"Bearer {token}"),)))
    except Exception as exc:  # whatever it raises, the caller sees its status
        return refusal("/x.Y/Z", exc)[0]
    return grpc.StatusCode.OK


@pytest.mark.parametrize("source", ["file", "url"])
@pytest.mark.parametrize("kid", ["ec-1", "okp-1", "oct-1", "rsa-enc", "rsa-ps"])
def test_a_token_naming_a_jwks_key_that_cannot_verify_rs256_is_unauthenticated(
    source: str, kid: str, signer: rsa.RSAPrivateKey, jwks_file: Path, jwks_url: str
) -> None:
    """Signed by anyone (an attacker's key for the foreign kinds; for the RSA keys published for encryption or
    PS256 only, even their own private key): the key it names is not one RS256 tokens are verified with."""
    settings = ServiceSettings(jwt_jwks=str(jwks_file) if source == "file" else jwks_url)
    authorizer = Authorizer(settings, {})
    key = signer if kid.startswith("rsa") else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": kid})
    assert _code(authorizer, token) is grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("source", ["file", "url"])
def test_a_symmetric_jwks_key_verifies_nothing_even_with_its_own_algorithm(
    source: str, jwks_file: Path, jwks_url: str
) -> None:
    """An HS256 token signed with the secret the document publishes is not accepted: JWKS tokens are RS256."""
    settings = ServiceSettings(jwt_jwks=str(jwks_file) if source == "file" else jwks_url)
    token = jwt.encode(_claims(), OCT_SECRET, algorithm="HS256", headers={"kid": "oct-1"})
    assert _code(Authorizer(settings, {}), token) is grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("source", ["file", "url"])
def test_the_rsa_signing_key_beside_them_still_verifies(
    source: str, signer: rsa.RSAPrivateKey, jwks_file: Path, jwks_url: str
) -> None:
    settings = ServiceSettings(jwt_jwks=str(jwks_file) if source == "file" else jwks_url)
    token = jwt.encode(_claims(), signer, algorithm="RS256", headers={"kid": "rsa-1"})
    assert _code(Authorizer(settings, {}), token) is grpc.StatusCode.OK


def test_a_key_that_does_not_fit_the_algorithm_is_unauthenticated(jwks_file: Path) -> None:
    """Whatever PyJWT raises for a key it cannot use with the token's algorithm (InvalidKeyError, TypeError)
    is a refusal of the token, not a failure of the service."""
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=str(jwks_file)))
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    verifier._jwks.key = lambda _kid: ec_key  # type: ignore[method-assign, union-attr]  # a key that slipped through
    token = jwt.encode(
        _claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", headers={"kid": "rsa-1"}
    )
    with pytest.raises(errors.Unauthenticated):
        verifier.verify(token)


def test_a_private_key_published_by_mistake_verifies_with_its_public_half(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**json.loads(RSAAlgorithm.to_jwk(key)), "kid": "oops"}]}))
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=str(path)))
    assert verifier.verify(jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": "oops"})).role == "admin"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(errors.Unauthenticated):
        verifier.verify(jwt.encode(_claims(), stranger, algorithm="RS256", headers={"kid": "oops"}))


def test_a_jwks_document_without_an_rs256_key_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    only_ec = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    path.write_text(json.dumps({"keys": [{**only_ec, "kid": "ec-1"}]}))
    with pytest.raises(ValueError, match="cannot load"):
        TokenVerifier(ServiceSettings(jwt_jwks=str(path)))


# --- clock skew ----------------------------------------------------------------------------------------------


def _hs256(skew: float = 0, **claims: Any) -> str:
    """A token minted on a host whose clock is `skew` seconds ahead of this one."""
    now = int(time.time() + skew)
    return jwt.encode({**_claims(iat=now, exp=now + 3600), **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize("skew", [1, 2, 5, 25])
def test_a_token_minted_a_little_in_the_future_is_accepted(skew: int) -> None:
    verifier = TokenVerifier(ServiceSettings(jwt_secret=SECRET))
    assert verifier.verify(_hs256(skew)).role == "admin"


def test_the_leeway_applies_to_exp_and_nbf_and_has_a_bound() -> None:
    verifier = TokenVerifier(ServiceSettings(jwt_secret=SECRET, auth_token_cache_seconds=0))
    now = int(time.time())
    assert verifier.verify(_hs256(exp=now - 10)).role == "admin"
    assert verifier.verify(_hs256(nbf=now + 10)).role == "admin"
    with pytest.raises(errors.Unauthenticated, match="expired"):
        verifier.verify(_hs256(exp=now - 60))
    with pytest.raises(errors.Unauthenticated, match="ImmatureSignature"):
        verifier.verify(_hs256(120))


def test_no_leeway_when_set_to_zero() -> None:
    verifier = TokenVerifier(ServiceSettings(jwt_secret=SECRET, auth_leeway_seconds=0))
    with pytest.raises(errors.Unauthenticated, match="ImmatureSignature"):
        verifier.verify(_hs256(5))


# --- id claims -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("dealer_id", "D\x00x"),  # PostgreSQL refuses a NUL: was INTERNAL in every service
        ("dealer_id", None),  # was the dealer "None"
        ("dealer_id", ["D-1"]),  # was the dealer "['D-1']"
        ("dealer_id", 7),
        ("dealer_id", "D" * 65),
        ("channel_id", "C\nx"),
        ("location_id", {"id": "L-1"}),
    ],
)
def test_an_id_claim_that_is_not_an_id_is_unauthenticated_naming_it(claim: str, value: Any) -> None:
    verifier = TokenVerifier(ServiceSettings(jwt_secret=SECRET))
    role = {"dealer_id": "dealer", "channel_id": "channel", "location_id": "store"}[claim]
    for claims in ({"role": role, claim: value}, {"role": "admin", claim: value}):  # bound or not: refused
        with pytest.raises(errors.Unauthenticated, match=claim):
            verifier.verify(_hs256(**claims))


def test_well_formed_id_claims_are_the_scope_and_absent_ones_stay_empty() -> None:
    verifier = TokenVerifier(ServiceSettings(jwt_secret=SECRET))
    store = verifier.verify(_hs256(role="store", location_id="STORE-SH:01", dealer_id="D_1.a"))
    assert (store.location_id, store.dealer_id, store.channel_id) == ("STORE-SH:01", "D_1.a", "")
    assert verifier.verify(_hs256()).dealer_id == ""
    assert verifier.verify(_hs256(role="admin", dealer_id="")).dealer_id == ""  # an identity provider's blank
    with pytest.raises(errors.Unauthenticated):
        verifier.verify(_hs256(role="dealer", dealer_id=""))  # a dealer token without its dealer


# --- caller-scoped idempotency keys -------------------------------------------------------------------------


def _key(principal: Principal, request_id: str) -> str:
    Authorizer.enter(principal)
    try:
        return scoped_key(request_id)
    finally:
        Authorizer.enter(auth.SYSTEM)


def test_ids_with_colons_never_share_a_key() -> None:
    assert _key(Principal(role="store", location_id="SH:01"), "r-1") != _key(
        Principal(role="store", location_id="SH"), "01:r-1"
    )
    assert _key(Principal(role="channel", channel_id="A:B"), "C") != _key(
        Principal(role="channel", channel_id="A"), "B:C"
    )
    # The escape character itself: an id spelling out an escape is not the id it would stand for.
    assert _key(Principal(role="dealer", dealer_id="D%3A1"), "r") != _key(
        Principal(role="dealer", dealer_id="D:1"), "r"
    )


def test_an_ordinary_key_is_the_one_stored_before() -> None:
    assert _key(Principal(role="store", location_id="STORE-SH-01"), "r-1") == "store:STORE-SH-01:r-1"
    assert _key(Principal(role="channel", channel_id="web.cn_1"), "a:b") == "channel:web.cn_1:a:b"
    assert _key(Principal(role="dealer", dealer_id="D-1"), "r") == "dealer:D-1:r"
    assert _key(Principal(role="admin"), "SH:01:r-1") == "SH:01:r-1"  # admin and service: no scope


def test_an_escaped_scope_is_never_longer_than_an_id() -> None:
    """The key columns hold 255 characters, sized for the longest id: escaping must not outgrow it."""
    many = "A" + ":" * 63
    other = "B" + ":" * 63
    key = _key(Principal(role="store", location_id=many), "r")
    assert len(key) <= len("store::r") + 64
    assert key != _key(Principal(role="store", location_id=other), "r")
    assert key != _key(Principal(role="store", location_id="A"), ":" * 63 + ":r")
