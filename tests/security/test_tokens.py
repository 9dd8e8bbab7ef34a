"""Token verification: HS256 with the shared secret by default, RS256 with a key pair when configured."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from onepool_runtime.auth import TokenVerifier, mint_token
from onepool_runtime.errors import Unauthenticated
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
