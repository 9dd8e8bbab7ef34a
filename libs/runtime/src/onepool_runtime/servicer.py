"""What every servicer needs to run a use case: one transaction, optionally idempotent on request_id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import grpc
from google.protobuf import message_factory
from google.protobuf.message import Message

from onepool_runtime.auth import scoped_key
from onepool_runtime.idempotency import run_in_transaction, stored_answer
from onepool_runtime.uow import UnitOfWork

T = TypeVar("T")
U = TypeVar("U", bound=UnitOfWork)
# The context every RPC method of a grpc.aio servicer is given (its second argument).
Ctx = grpc.aio.ServicerContext


class UseCases(Generic[U]):
    """Servicers hold one of these: `write` for mutations (committed, idempotent with a request_id),
    `read` for queries (no transaction, never writes)."""

    def __init__(self, uow_factory: Callable[[], U]) -> None:
        self.uow_factory = uow_factory

    async def write(
        self,
        produce: Callable[[U], Awaitable[T]],
        *,
        request: Message | None = None,
        request_id: str = "",
    ) -> T:
        if request_id:
            assert request is not None
            return await run_in_transaction(
                self.uow_factory,
                produce,
                key=scoped_key(request_id),
                request=request,
                response_type=_response_type(request),  # type: ignore[arg-type]
            )
        return await run_in_transaction(self.uow_factory, produce)

    async def replay(self, request: Message, request_id: str) -> Message | None:
        """The first answer to this request, if one is stored. For a use case that checks something live (in
        another service) before it writes: a retry gets the first answer even when that check would now fail."""
        async with self.uow_factory().reading() as uow:
            stored = await stored_answer(uow, scoped_key(request_id), request)
        return None if stored is None else _response_type(request).FromString(stored)

    async def read(self, produce: Callable[[U], Awaitable[T]]) -> T:
        async with self.uow_factory().reading() as uow:  # no transaction: no BEGIN/ROLLBACK round trips
            return await produce(uow)


def _response_type(request: Message) -> type[Message]:
    """FooRequest -> FooResponse, from the request's own proto file (buf's RPC naming rule guarantees it)."""
    name = request.DESCRIPTOR.name.removesuffix("Request") + "Response"
    return message_factory.GetMessageClass(request.DESCRIPTOR.file.message_types_by_name[name])  # type: ignore[arg-type]
