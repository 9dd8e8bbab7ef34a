"""Unit of work: one transaction per use case; the only thing that commits.

Commit turns the domain events recorded by the aggregates the transaction touched into integration events
(via the service's translator) and writes them to the outbox in the same transaction.

A read (`reading()`, what `UseCases.read` uses) runs without a transaction (`db.autocommit`): no BEGIN and no
ROLLBACK round trip; it must not write, and its commit raises.

Without a transaction (`reading()`, `single_statement()`), `driver()` is a connection of the engine's read
pool (readpool.py), not the session's: the session's statements and the driver's run in autocommit either
way, so they need not share a connection, and SQLAlchemy's pool checkout and check-in (the Connection, its
events, the isolation level set and reset: about 0.3 ms of CPU, as much as the statement itself) are saved.
PlaceOrder's channel read, tx1 and tx2 are such units. The read pool closes a connection handed back inside
a transaction, as SQLAlchemy's checkout does (db.py).

Hot paths (`driver()`): a repository may run hand-written SQL on the asyncpg connection under the session,
inside the same transaction, so it commits or rolls back with everything else. SQLAlchemy's work per
statement (cache key, compile, parameter processing, result rows, the greenlet hop) costs several times what
asyncpg itself does; on a path that runs a handful of statements per call that is most of the service's CPU.

Events written with the change (`outbox_columns`): a repository whose save is one statement may take the
aggregate's new events there and write them in that same statement (a CTE inserting the outbox rows), which
saves the outbox INSERT's round trip; with `single_statement` the whole use case then needs no transaction.
The relays are woken when the unit of work commits (without a transaction: at its commit call).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Protocol, Self

import asyncpg
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from onepool_runtime import db, outbox, readpool
from onepool_runtime.errors import DomainError

# A protobuf event message; its subject is the registry's (onepool_contracts.events).
IntegrationEvent = Message
Translator = Callable[[Any], Iterable[IntegrationEvent]]


class HasEvents(Protocol):
    # Read-only here: the unit of work only drains the list, so a frozen aggregate qualifies too.
    @property
    def events(self) -> list[Any]: ...


class UnitOfWork:
    """Base for each service's unit of work; subclasses attach repositories in `_start`.

    A service names its outbox source and its event translator once, in the class statement
    (`class OrdersUnitOfWork(UnitOfWork, source="orders", translate=translate)`), and is then built from the
    session factory alone, as every caller builds it.
    """

    session: AsyncSession
    # (source, translate) given in the subclass's class statement.
    _defaults: ClassVar[tuple[str, Translator | None]] = ("", None)

    def __init_subclass__(cls, *, source: str = "", translate: Translator | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if source:
            cls._defaults = (source, translate)

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        source: str = "",
        translate: Translator | None = None,
    ) -> None:
        self._sessions = sessions
        self.source = source or self._defaults[0]
        self._translate = translate or self._defaults[1]
        if not self.source:
            raise TypeError(f"{type(self).__name__} names no outbox source")
        self.seen: list[HasEvents] = []
        self._integration: list[IntegrationEvent] = []
        self._read = False
        self._single = False
        self._inline = False  # outbox rows were written by a repository's own statement
        self._driver: Any = None
        self._pooled: asyncpg.Connection | None = None  # driver() of a unit without a transaction (module doc)

    def reading(self) -> Self:
        """Make this unit of work a read: statements run without a transaction, and commit is refused."""
        self._read = True
        return self

    def single_statement(self) -> Self:
        """Make this unit of work run without a transaction, for a use case whose change is one statement (atomic
        on its own, so BEGIN and COMMIT would only add two round trips) besides any reads, and whose events, if
        any, that statement writes itself (`outbox_columns`; writing them apart would be a second statement).
        Its commit refuses events left over."""
        self._read = self._single = True
        return self

    async def __aenter__(self) -> Self:
        if self._read:
            self.session = self._sessions(bind=db.autocommit(self._sessions.kw["bind"]))
        else:
            self.session = self._sessions()
        self.seen = []
        self._integration = []
        self._inline = False
        self._driver = None
        self._start()
        return self

    def _start(self) -> None:
        """Hook for subclasses: build repositories on self.session."""

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        pooled, self._pooled, self._driver = self._pooled, None, None
        if pooled is not None:
            # A statement cut short (cancelled, timed out, connection lost) leaves the connection unusable; a
            # server's error or a refusal of the use case's own does not.
            reusable = exc_type is None or issubclass(exc_type, (asyncpg.PostgresError, DomainError))
            readpool.read_pool(self._sessions.kw["bind"]).give_back(pooled, reusable=reusable)
        # A session with no transaction and no objects holds no connection and nothing to roll back or detach;
        # closing it anyway costs a greenlet hop, about half of what a unit of work without a transaction costs
        # (PlaceOrder runs three, each with every statement on the read pool's connection).
        session = self.session
        if session.in_transaction() or session.identity_map or session.new:
            await session.close()  # rolls back whatever was not committed, and hands the connection back

    async def driver(self) -> Any:
        """The asyncpg connection under this unit of work's session, inside its transaction (begun now if no
        statement has begun it; a read has none). Statements run on it commit and roll back with the unit of
        work. Errors are asyncpg's own (`infra` and `run_in_transaction` classify them like SQLAlchemy's).
        Without a transaction: a connection of the read pool (module doc)."""
        if self._driver is None and self._read:
            self._pooled = self._driver = await readpool.read_pool(self._sessions.kw["bind"]).take()
        if self._driver is None:
            connection = await self.session.connection()
            raw = await connection.get_raw_connection()
            adapted: Any = raw.dbapi_connection
            if not self._read and adapted._transaction is None:
                # SQLAlchemy's asyncpg adapter begins lazily, at its first statement; begin the same way here
                # so that statements on the driver run in the transaction the session commits.
                await adapted._start_transaction()
            self._driver = raw.driver_connection
        return self._driver

    def track(self, aggregate: HasEvents) -> None:
        if not any(a is aggregate for a in self.seen):
            self.seen.append(aggregate)

    def publish(self, message: Message) -> None:
        """Queue an integration event to be written to the outbox at commit."""
        self._integration.append(message)

    def outbox_columns(self, aggregate: HasEvents) -> outbox.Columns:
        """Take the aggregate's new events now, as outbox columns (`outbox.columns`), for the statement that
        saves it to write them itself: they are then written if and only if that statement's change is. The
        caller must run that statement in this unit of work (module doc)."""
        events: list[IntegrationEvent] = []
        while aggregate.events:
            domain_event = aggregate.events.pop(0)
            if self._translate is not None:
                events.extend(self._translate(domain_event))
        if events:
            self._inline = True
        return outbox.columns(self.source, events)

    def collect_events(self) -> list[IntegrationEvent]:
        events = list(self._integration)
        self._integration.clear()
        for aggregate in self.seen:
            while aggregate.events:
                domain_event = aggregate.events.pop(0)
                if self._translate is not None:
                    events.extend(self._translate(domain_event))
        return events

    async def flush_events(self) -> None:
        events = self.collect_events()
        if events:
            await outbox.add_events(self.session, self.source, events, driver=await self.driver())

    async def commit(self) -> None:
        if self._single:
            if self.collect_events():
                raise RuntimeError("a single-statement unit of work writes its events in its statement only")
            if self._inline:
                outbox.wake(self._sessions.kw["bind"])
            return
        if self._read:
            raise RuntimeError("a read-only unit of work does not commit")
        await self.flush_events()
        if self._inline:
            outbox.mark_written(self.session)
        self._driver = None
        await self.session.commit()

    async def rollback(self) -> None:
        self._driver = None
        await self.session.rollback()
