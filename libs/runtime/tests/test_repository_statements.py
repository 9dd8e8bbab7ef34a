"""The statements every repository writes the same way (`by_id`, `page`), read as SQL, and the bootstrap
helpers of `Infra` (`settings_as`, `units`)."""

from __future__ import annotations

from enum import StrEnum

import pytest
from onepool_runtime.repository import by_id, page
from onepool_runtime.server import Infra
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.dialects import postgresql

THINGS = Table(
    "things",
    MetaData(),
    Column("id", String, primary_key=True),
    Column("name", String),
    Column("kind", String),
    Column("owner", String),
)


class Kind(StrEnum):
    BIG = "BIG"


def sql(statement: object) -> str:
    compiled = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    return " ".join(str(compiled).split())


def test_by_id_locks_only_when_asked() -> None:
    assert sql(by_id(THINGS, "T-1")).endswith("WHERE things.id = 'T-1'")
    assert sql(by_id(THINGS, "T-1", lock=True)).endswith("WHERE things.id = 'T-1' FOR UPDATE")


def test_a_page_is_keyset_ordered_by_its_column_then_id_and_none_is_no_filter_but_an_empty_string_is_a_value() -> None:
    first = sql(page(THINGS, "name", None, 10, kind=None))
    assert first.endswith("FROM things ORDER BY things.name, things.id LIMIT 10")
    after = sql(page(THINGS, "name", ("Li", "T-1"), 10))
    assert after.endswith("WHERE (things.name, things.id) > ('Li', 'T-1') ORDER BY things.name, things.id LIMIT 10")
    filtered = sql(page(THINGS, "name", None, 5, kind=Kind.BIG, owner=""))
    assert "things.kind = 'BIG'" in filtered and "things.owner = ''" in filtered
    assert filtered.endswith("ORDER BY things.name, things.id LIMIT 5")


class Settings(ServiceSettings):
    pass


def test_infra_gives_the_services_own_settings_and_units_of_work() -> None:
    settings = Settings(service_name="svc")
    infra = Infra(settings=settings, engine=None, sessions="the sessions", nc=None, js=None)  # type: ignore[arg-type]
    assert infra.settings_as(Settings) is settings
    with pytest.raises(TypeError):
        Infra(ServiceSettings(service_name="svc"), None, None, None, None).settings_as(Settings)  # type: ignore[arg-type]

    class Uow(UnitOfWork, source="svc"):
        pass

    made = infra.units(Uow)()
    assert isinstance(made, Uow) and made._sessions == "the sessions"
