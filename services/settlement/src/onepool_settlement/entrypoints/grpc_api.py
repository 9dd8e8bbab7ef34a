"""SettlementService servicer: proto -> command -> handler -> proto. It translates; it never decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from onepool.settlement.v1 import settlement_pb2 as pb
from onepool.settlement.v1 import settlement_pb2_grpc
from onepool_runtime.auth import scoped_key
from onepool_runtime.servicer import Ctx, UseCases
from onepool_runtime.validation import next_page

from onepool_settlement.adapters import export, mappers
from onepool_settlement.entrypoints import requests
from onepool_settlement.entrypoints.policies import listed_party, require_party
from onepool_settlement.service_layer import checkpoints, handlers
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork
from onepool_settlement.settings import SettlementSettings


class SettlementServicer(settlement_pb2_grpc.SettlementServiceServicer):
    def __init__(self, uow_factory: Callable[[], SettlementUnitOfWork], settings: SettlementSettings) -> None:
        self._use = UseCases(uow_factory)
        self._units = uow_factory
        self._settings = settings

    async def GetBalance(self, request: pb.GetBalanceRequest, context: Ctx) -> pb.GetBalanceResponse:
        party, currency = requests.balance(request, self._settings.default_currency)
        require_party(party)

        async def produce(uow: SettlementUnitOfWork) -> pb.GetBalanceResponse:
            amount = await handlers.get_balance(uow, party, currency)
            every = await handlers.get_balances(uow, party)
            return pb.GetBalanceResponse(
                party=party,
                balance=mappers.money(currency, amount),
                balances=[mappers.money(c, b) for c, b in every],
            )

        return await self._use.read(produce)

    async def ListEntries(self, request: pb.ListEntriesRequest, context: Ctx) -> pb.ListEntriesResponse:
        query = requests.list_entries(request)
        query = replace(query, party=listed_party(query.party))

        async def produce(uow: SettlementUnitOfWork) -> pb.ListEntriesResponse:
            lines, more = await handlers.list_entries(uow, query)
            resume = requests.entries_page_token(*((lines[-1].xact_id, lines[-1].id) if lines else query.after))
            return pb.ListEntriesResponse(
                entries=[mappers.line_to_proto(ln) for ln in lines],
                next_page_token=resume if more else "",
                resume_page_token=resume,
            )

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
            return mappers.reconcile_to_proto(await handlers.reconcile(uow, cmd))

        return await self._use.read(produce)

    async def RecordPayment(self, request: pb.RecordPaymentRequest, context: Ctx) -> pb.RecordPaymentResponse:
        cmd = requests.record_payment(request, scoped_key(request.request_id))

        async def produce(uow: SettlementUnitOfWork) -> pb.RecordPaymentResponse:
            return pb.RecordPaymentResponse(payment=mappers.payment_to_proto(await handlers.record_payment(uow, cmd)))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def CreatePayout(self, request: pb.CreatePayoutRequest, context: Ctx) -> pb.CreatePayoutResponse:
        cmd = requests.create_payout(request, scoped_key(request.request_id), self._settings.default_currency)

        async def produce(uow: SettlementUnitOfWork) -> pb.CreatePayoutResponse:
            return pb.CreatePayoutResponse(payout=mappers.payout_to_proto(await handlers.create_payout(uow, cmd)))

        # Fingerprinted with the currency it pays in: a retry naming the default it left out is the same
        # request, within the idempotency keys' retention as after it (the payout's id is the request's).
        resolved = pb.CreatePayoutRequest()
        resolved.CopyFrom(request)
        resolved.currency = cmd.currency
        return await self._use.write(produce, request=resolved, request_id=request.request_id)

    async def SettleUnpricedMove(
        self, request: pb.SettleUnpricedMoveRequest, context: Ctx
    ) -> pb.SettleUnpricedMoveResponse:
        cmd = requests.settle_unpriced_move(request, scoped_key(request.request_id))

        async def produce(uow: SettlementUnitOfWork) -> pb.SettleUnpricedMoveResponse:
            move = await handlers.settle_unpriced_move(uow, cmd)
            return pb.SettleUnpricedMoveResponse(move=mappers.unpriced_move_to_proto(move))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def GetPayout(self, request: pb.GetPayoutRequest, context: Ctx) -> pb.GetPayoutResponse:
        payout_id = requests.payout_id(request)

        async def produce(uow: SettlementUnitOfWork) -> pb.GetPayoutResponse:
            payout = await handlers.get_payout(uow, payout_id)
            require_party(payout.party)
            return pb.GetPayoutResponse(payout=mappers.payout_to_proto(payout))

        return await self._use.read(produce)

    async def ListPayouts(self, request: pb.ListPayoutsRequest, context: Ctx) -> pb.ListPayoutsResponse:
        query = requests.list_payouts(request)
        query = replace(query, party=listed_party(query.party))

        async def produce(uow: SettlementUnitOfWork) -> pb.ListPayoutsResponse:
            payouts, more = await handlers.list_payouts(uow, query)
            last = payouts[-1] if more else None
            token = requests.payout_page_token(last.created_at, last.id) if last and last.created_at else ""
            return pb.ListPayoutsResponse(payouts=[mappers.payout_to_proto(x) for x in payouts], next_page_token=token)

        return await self._use.read(produce)

    async def ClosePeriod(self, request: pb.ClosePeriodRequest, context: Ctx) -> pb.ClosePeriodResponse:
        cmd = requests.close_period(request)
        await checkpoints.before_close(self._units, self._settings.balance_checkpoint_lines)

        async def produce(uow: SettlementUnitOfWork) -> pb.ClosePeriodResponse:
            return pb.ClosePeriodResponse(period=mappers.period_to_proto(await handlers.close_period(uow, cmd)))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def ListPeriods(self, request: pb.ListPeriodsRequest, context: Ctx) -> pb.ListPeriodsResponse:
        limit, after = requests.list_periods(request)

        async def produce(uow: SettlementUnitOfWork) -> pb.ListPeriodsResponse:
            found = await handlers.list_periods(uow, after, limit + 1)
            periods, token = next_page(found, limit, lambda p: {"after": p.period_end.isoformat()})
            return pb.ListPeriodsResponse(periods=[mappers.period_to_proto(x) for x in periods], next_page_token=token)

        return await self._use.read(produce)

    async def ExportStatement(self, request: pb.ExportStatementRequest, context: Ctx) -> pb.ExportStatementResponse:
        statement_id = requests.export_statement(request)

        async def produce(uow: SettlementUnitOfWork) -> pb.ExportStatementResponse:
            statement = await handlers.get_statement(uow, statement_id)
            require_party(statement.party)
            return pb.ExportStatementResponse(
                filename=export.filename(statement, self._settings.business_zone),
                content_type="text/csv; charset=utf-8",
                content=export.statement_csv(statement),
            )

        return await self._use.read(produce)
