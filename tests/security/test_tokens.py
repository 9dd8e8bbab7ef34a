"""Token verification: HS256 with the shared secret by default, RS256 with a key pair when configured."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from onepool_runtime.auth import TokenVerifier, mint_token
from onepool_runtime.errors import Unauthenticated, Unavailable
from onepool_runtime.settings import ServiceSettings


def _rsa_files(tmp_path: Path) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "jwt.key"
    public = tmp_path / "jwt.pub"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return str(private), str(public)


def test_rs256_tokens_verify_with_the_public_key_and_hs256_ones_do_not(tmp_path: Path) -> None:
    private, public = _rsa_files(tmp_path)
    issuer = ServiceSettings(jwt_private_key_file=private)
    verifier = TokenVerifier(ServiceSettings(jwt_public_key_file=public))
    principal = verifier.verify(mint_token(issuer, "dealer", dealer_id="D-9"))
    assert (principal.role, principal.dealer_id) == ("dealer", "D-9")
    with pytest.raises(Unauthenticated):
        verifier.verify(mint_token(ServiceSettings(), "admin"))  # HS256 with the default secret


def test_claims_are_checked_strictly() -> None:
    settings = ServiceSettings()
    verifier = TokenVerifier(settings)
    now = int(time.time())
    base = {"role": "admin", "aud": settings.jwt_audience, "iat": now, "exp": now + 60}
    for claims in (
        {**base, "exp": now - 1},
        {**base, "aud": "elsewhere"},
        {k: v for k, v in base.items() if k != "exp"},
        {**base, "role": "root"},
        {**base, "role": "store"},  # a store token must name its location
    ):
        with pytest.raises(Unauthenticated):
            verifier.verify(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))
    with pytest.raises(Unauthenticated):  # "none" algorithm tokens are never accepted
        verifier.verify(jwt.encode(base, None, algorithm="none"))


def test_minting_refuses_unbound_scoped_roles() -> None:
    for role in ("channel", "dealer", "store"):
        with pytest.raises(ValueError):
            mint_token(ServiceSettings(), role)


# --- issuer and audience (issue 9, item 7) --------------------------------------------------------------


def test_issuer_and_audience_must_be_ours() -> None:
    settings = ServiceSettings()
    verifier = TokenVerifier(settings)
    now = int(time.time())
    good = {"role": "admin", "aud": settings.jwt_audience, "iss": settings.jwt_issuer, "iat": now, "exp": now + 60}
    assert verifier.verify(jwt.encode(good, settings.jwt_secret, algorithm="HS256")).role == "admin"
    for label, claims in {
        "wrong issuer": {**good, "iss": "evil-issuer"},
        "no issuer": {k: v for k, v in good.items() if k != "iss"},
        "wrong audience": {**good, "aud": "another-system"},
        "no audience": {k: v for k, v in good.items() if k != "aud"},
    }.items():
        with pytest.raises(Unauthenticated):
            verifier.verify(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))
            pytest.fail(label)


def test_configured_issuer_and_audience_are_what_minting_puts_in_and_verifying_expects() -> None:
    ours = ServiceSettings(jwt_issuer="https://auth.example", jwt_audience="shop")
    principal = TokenVerifier(ours).verify(mint_token(ours, "dealer", dealer_id="D-1"))
    assert principal.dealer_id == "D-1"
    with pytest.raises(Unauthenticated):  # the defaults' tokens are another issuer's
        TokenVerifier(ours).verify(mint_token(ServiceSettings(), "admin"))


# --- RS256 key rotation from a JWKS document ---------------------------------------------------------------


def _jwk(public_pem: str, kid: str) -> dict:  # type: ignore[type-arg]
    from jwt.algorithms import RSAAlgorithm

    key = json.loads(RSAAlgorithm.to_jwk(RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(public_pem)))
    return {**key, "kid": kid, "use": "sig", "alg": "RS256"}


def _write_jwks(path: Path, keys: dict[str, str]) -> None:
    """Rewrite the document as a rotation would: a new file moved into place."""
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps({"keys": [_jwk(Path(pub).read_text(), kid) for kid, pub in keys.items()]}))
    os.replace(staging, path)


def _signers(tmp_path: Path) -> dict[str, tuple[ServiceSettings, str]]:
    """kid -> (settings that sign with that key and kid, public key file)."""
    signers = {}
    for kid in ("key-2026-01", "key-2026-02"):
        folder = tmp_path / kid
        folder.mkdir()
        private, public = _rsa_files(folder)
        signers[kid] = (ServiceSettings(jwt_private_key_file=private, jwt_key_id=kid), public)
    return signers


def test_jwks_file_accepts_either_key_by_kid_and_refuses_a_removed_one_after_reload(tmp_path: Path) -> None:
    signers = _signers(tmp_path)
    jwks = tmp_path / "jwks.json"
    _write_jwks(jwks, {kid: public for kid, (_, public) in signers.items()})
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=str(jwks)))
    old, new = signers["key-2026-01"][0], signers["key-2026-02"][0]

    assert verifier.verify(mint_token(old, "dealer", dealer_id="D-1")).dealer_id == "D-1"
    assert verifier.verify(mint_token(new, "store", location_id="L-1")).location_id == "L-1"
    assert jwt.get_unverified_header(mint_token(new, "admin"))["kid"] == "key-2026-02"

    _write_jwks(jwks, {"key-2026-02": signers["key-2026-02"][1]})  # the old key is retired

    with pytest.raises(Unauthenticated, match="unknown signing key"):
        verifier.verify(mint_token(old, "admin"))
    assert verifier.verify(mint_token(new, "admin")).role == "admin"


def test_jwks_refuses_tokens_without_a_kid_with_an_unknown_kid_or_signed_otherwise(tmp_path: Path) -> None:
    signers = _signers(tmp_path)
    jwks = tmp_path / "jwks.json"
    _write_jwks(jwks, {"key-2026-01": signers["key-2026-01"][1]})
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=str(jwks)))
    settings, _ = signers["key-2026-01"]
    unlisted, _ = signers["key-2026-02"]
    for token in (
        mint_token(settings.model_copy(update={"jwt_key_id": ""}), "admin"),  # no kid
        mint_token(unlisted, "admin"),  # a key the document does not hold
        mint_token(settings.model_copy(update={"jwt_key_id": "key-2026-02"}), "admin"),  # kid of another key
        mint_token(ServiceSettings(jwt_key_id="key-2026-01"), "admin"),  # HS256 with the shared secret
        mint_token(settings.model_copy(update={"jwt_issuer": "evil-issuer"}), "admin"),
    ):
        with pytest.raises(Unauthenticated):
            verifier.verify(token)


def test_a_broken_jwks_rewrite_keeps_the_previous_keys(tmp_path: Path) -> None:
    signers = _signers(tmp_path)
    jwks = tmp_path / "jwks.json"
    _write_jwks(jwks, {"key-2026-01": signers["key-2026-01"][1]})
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=str(jwks)))
    jwks.write_text('{"keys": [')  # a half-written document
    assert verifier.verify(mint_token(signers["key-2026-01"][0], "admin")).role == "admin"


def test_jwks_from_a_url_through_pyjwkclient(tmp_path: Path) -> None:
    signers = _signers(tmp_path)
    document = json.dumps({"keys": [_jwk(Path(pub).read_text(), kid) for kid, (_, pub) in signers.items()]})

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            body = document.encode()
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
        verifier = TokenVerifier(ServiceSettings(jwt_jwks=f"http://127.0.0.1:{server.server_port}/jwks.json"))
        assert verifier.blocking
        for kid, (settings, _) in signers.items():
            assert verifier.verify(mint_token(settings, "dealer", dealer_id=kid)).dealer_id == kid
        with pytest.raises(Unauthenticated):
            verifier.verify(mint_token(signers["key-2026-01"][0].model_copy(update={"jwt_key_id": "nope"}), "admin"))
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_jwks_url_is_unavailable_not_a_verdict_on_the_token(tmp_path: Path) -> None:
    from onepool_runtime.embedded import free_port

    signers = _signers(tmp_path)
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=f"http://127.0.0.1:{free_port()}/jwks.json"))
    with pytest.raises(Unavailable):
        verifier.verify(mint_token(signers["key-2026-01"][0], "admin"))


def test_onepool_token_mints_what_the_services_accept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from onepool_cli.main import app
    from typer.testing import CliRunner

    private, public = _rsa_files(tmp_path)
    _write_jwks(tmp_path / "jwks.json", {"k1": public})
    env = {"ONEPOOL_JWT_PRIVATE_KEY_FILE": private, "ONEPOOL_JWT_KEY_ID": "k1", "ONEPOOL_JWT_ISSUER": "corp"}
    result = CliRunner().invoke(app, ["token", "--role", "dealer", "--dealer", "D-7"], env=env)
    assert result.exit_code == 0, result.output
    verifier = TokenVerifier(ServiceSettings(jwt_jwks=str(tmp_path / "jwks.json"), jwt_issuer="corp"))
    assert verifier.verify(result.output.strip()).dealer_id == "D-7"
