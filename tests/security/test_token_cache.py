"""The verified-token cache: a token's signature is checked once, and the cache never accepts a token that a
fresh check would refuse (expired, or signed with a key the JWKS document no longer holds)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from onepool_runtime import auth
from onepool_runtime.auth import TokenVerifier, mint_token
from onepool_runtime.errors import Unauthenticated
from onepool_runtime.settings import ServiceSettings

from tests.security.test_tokens import _jwk, _signers, _write_jwks


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature check the verifier makes (PyJWT's decode still does the work)."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        seen.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return seen


def test_a_token_is_checked_once_and_then_answered_from_the_cache(decodes: list[str]) -> None:
    settings = ServiceSettings()
    verifier = TokenVerifier(settings)
    token = mint_token(settings, "dealer", dealer_id="D-1")
    assert [verifier.verify(token).dealer_id for _ in range(5)] == ["D-1"] * 5
    assert decodes == [token]
    assert verifier.cached(token) is not None
    with pytest.raises(Unauthenticated):  # a refusal is never remembered as anything
        verifier.verify(token + "x")
    with pytest.raises(Unauthenticated):
        verifier.verify(token + "x")
    assert len(decodes) == 3


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(decodes: list[str]) -> None:
    settings = ServiceSettings(auth_token_cache_size=2)
    verifier = TokenVerifier(settings)
    a, b, c = (mint_token(settings, "admin", subject=s) for s in "abc")
    for token in (a, b, a, c):  # c pushes out b, the least recently used
        verifier.verify(token)
    assert len(verifier.cache) == 2
    assert verifier.cached(a) is not None and verifier.cached(c) is not None
    assert verifier.cached(b) is None


def test_a_cached_token_is_refused_once_it_has_expired(decodes: list[str]) -> None:
    settings = ServiceSettings(auth_leeway_seconds=0)  # the clock-skew slack would keep it 30 s longer
    verifier = TokenVerifier(settings)
    token = mint_token(settings, "admin", ttl_seconds=2)  # exp is whole seconds: 1 could lapse at once
    assert verifier.verify(token).role == "admin"
    expiry = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expiry - time.time()) + 0.05)
    assert verifier.cached(token) is None
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_entries_live_no_longer_than_the_configured_time(decodes: list[str]) -> None:
    settings = ServiceSettings(auth_token_cache_seconds=0.2)
    verifier = TokenVerifier(settings)
    token = mint_token(settings, "admin")
    verifier.verify(token)
    time.sleep(0.3)
    verifier.verify(token)
    assert decodes == [token, token]


def test_the_cache_can_be_turned_off(decodes: list[str]) -> None:
    settings = ServiceSettings(auth_token_cache_seconds=0)
    verifier = TokenVerifier(settings)
    token = mint_token(settings, "admin")
    verifier.verify(token)
    verifier.verify(token)
    assert decodes == [token, token] and verifier.cached(token) is None


def test_a_cached_token_of_a_key_retired_from_the_jwks_file_is_refused(tmp_path: Path) -> None:
    signers = _signers(tmp_path)
    jwks = tmp_path / "jwks.json"
    _write_jwks(jwks, {kid: public for kid, (_, public) in signers.items()})
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=str(jwks)))
    old = mint_token(signers["key-2026-01"][0], "admin")
    new = mint_token(signers["key-2026-02"][0], "admin")
    assert verifier.verify(old).role == "admin" and verifier.verify(new).role == "admin"
    assert verifier.cached(old) is not None

    _write_jwks(jwks, {"key-2026-02": signers["key-2026-02"][1]})  # the old key is retired

    assert verifier.cached(old) is None
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        verifier.verify(old)
    assert verifier.verify(new).role == "admin"  # checked again against the new document, and accepted


@pytest.fixture
def jwks_server(tmp_path: Path) -> Iterator[tuple[str, list[bytes]]]:
    """An http server answering the JWKS document held in the returned list (replace its item to rotate)."""
    document: list[bytes] = [b'{"keys": []}']

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            body = document[0]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json", document
    finally:
        server.shutdown()
        server.server_close()


def test_a_cached_token_of_a_key_retired_from_the_jwks_url_is_refused_once_the_document_is_refetched(
    tmp_path: Path, jwks_server: tuple[str, list[bytes]]
) -> None:
    url, document = jwks_server
    signers = _signers(tmp_path)

    def publish(*kids: str) -> None:
        document[0] = json.dumps({"keys": [_jwk(Path(signers[k][1]).read_text(), k) for k in kids]}).encode()

    publish("key-2026-01", "key-2026-02")
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=url, jwt_jwks_refresh_seconds=1.0))
    old = mint_token(signers["key-2026-01"][0], "admin")
    assert verifier.verify(old).role == "admin"  # fetches the document (not cached: no document was known)
    assert verifier.verify(old).role == "admin"  # checked against the fetched document, and remembered
    assert verifier.cached(old) is not None  # while the fetched document is fresh

    publish("key-2026-02")
    time.sleep(1.1)  # the fetched document's lifespan is over
    assert verifier.cached(old) is None  # nothing verified against a stale document is trusted
    with pytest.raises(Unauthenticated):
        verifier.verify(old)  # fetched again: the key is gone
