"""SettlementService servicer: proto -> command -> handler -> proto. It translates; it never decides."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool.settlement.v1 import settlement_pb2_grpc
from onepool_runtime.servicer import UseCases
from onepool_runtime.validation import encode_page_token

from onepool_settlement.adapters import mappers
from onepool_settlement.entrypoints import requests
from onepool_settlement.entrypoints.policies import require_party
from onepool_settlement.service_layer import handlers
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork
from onepool_settlement.settings import SettlementSettings

Ctx = grpc.aio.ServicerContext


class SettlementServicer(settlement_pb2_grpc.SettlementServiceServicer):
    def __init__(self, uow_factory: Callable[[], SettlementUnitOfWork], settings: SettlementSettings) -> None:
        self._use = UseCases(uow_factory)
        self._settings = settings

    async def GetBalance(self, request: pb.GetBalanceRequest, context: Ctx) -> pb.GetBalanceResponse:
        party, currency = requests.balance(request, self._settings.default_currency)
        require_party(party)

        async def produce(uow: SettlementUnitOfWork) -> pb.GetBalanceResponse:
            amount = await handlers.get_balance(uow, party, currency)
            return pb.GetBalanceResponse(party=party, balance=mappers.money(currency, amount))

        return await self._use.read(produce)

    async def ListEntries(self, request: pb.ListEntriesRequest, context: Ctx) -> pb.ListEntriesResponse:
        query = requests.list_entries(request)
        require_party(query.party)

        async def produce(uow: SettlementUnitOfWork) -> pb.ListEntriesResponse:
            lines, more = await handlers.list_entries(uow, query)
            token = encode_page_token({"after": lines[-1].id}) if more else ""
            return pb.ListEntriesResponse(entries=[mappers.line_to_proto(ln) for ln in lines], next_page_token=token)

        return await self._use.read(produce)

    async def GenerateStatement(
        self, request: pb.GenerateStatementRequest, context: Ctx
    ) -> pb.GenerateStatementResponse:
        cmd = requests.generate_statement(request, self._settings.default_currency)
        require_party(cmd.party)

        async def produce(uow: SettlementUnitOfWork) -> pb.GenerateStatementResponse:
            statement = await handlers.generate_statement(uow, cmd, max_lines=self._settings.statement_max_lines)
            return pb.GenerateStatementResponse(statement=mappers.statement_to_proto(statement))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def GetStatement(self, request: pb.GetStatementRequest, context: Ctx) -> pb.GetStatementResponse:
        statement_id = requests.statement_id(request)

        async def produce(uow: SettlementUnitOfWork) -> pb.GetStatementResponse:
            statement = await handlers.get_statement(uow, statement_id)
            require_party(statement.party)
            return pb.GetStatementResponse(statement=mappers.statement_to_proto(statement))

        return await self._use.read(produce)

    async def Reconcile(self, request: pb.ReconcileRequest, context: Ctx) -> pb.ReconcileResponse:
        cmd = requests.reconcile(request, self._settings.default_currency)

        async def produce(uow: SettlementUnitOfWork) -> pb.ReconcileResponse:
            return mappers.reconcile_to_proto(await handlers.reconcile(uow, cmd), cmd.currency)

        return await self._use.read(produce)
