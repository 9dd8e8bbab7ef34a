from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "import-formats.md"


def doc_examples() -> dict[str, str]:
    """The example payloads of docs/import-formats.md, by format (the tests import exactly those)."""
    text = DOCS.read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- example: (\w+) -->\n```json\n(.*?)\n```", text, flags=re.S))


@pytest.fixture(scope="session")
def examples() -> dict[str, str]:
    found = doc_examples()
    assert set(found) == {"shopify", "taobao", "generic"}, found.keys()
    return found
