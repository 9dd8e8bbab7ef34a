"""`onepool token` (and seed, demo, which mint one too): bad input is one clear line, never a traceback."""

from __future__ import annotations

import os

import jwt
import pytest
from onepool_cli import main
from onepool_cli.main import app
from typer.testing import CliRunner


def _invoke(args: list[str], **env: str):  # type: ignore[no-untyped-def]
    main.console.width = 400
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ONEPOOL_")}
    return CliRunner().invoke(app, args, env={**cleared, **env})


@pytest.mark.parametrize("args", [["token"], ["seed"], ["demo"]])
def test_a_missing_private_key_file_is_named(args: list[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = str(tmp_path / "no-such-key.pem")
    result = _invoke(args, ONEPOOL_JWT_PRIVATE_KEY_FILE=missing)
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, (result.exception, result.output)
    assert f"ONEPOOL_JWT_PRIVATE_KEY_FILE {missing} cannot be read: No such file or directory" in result.output


@pytest.mark.parametrize("ttl", ["0", "-5"])
def test_a_token_that_would_be_expired_when_issued_is_refused(ttl: str) -> None:
    result = _invoke(["token", "--ttl", ttl])
    assert result.exit_code == 2 and "--ttl" in result.output and "must be positive" in result.output, result.output


def test_a_token_is_issued_for_its_ttl() -> None:
    result = _invoke(["token", "--ttl", "60"])
    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.output.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
