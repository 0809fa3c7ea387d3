"""GraphQL types for contracts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry import relay

from graph.context import Info
from graph.models import contracts as m
from graph.models import organizations as om
from graph.resolvers import contracts as r
from graph.types.common import (
    After,
    Before,
    Connection,
    First,
    Last,
    Money,
    SortDirection,
    UserError,
    allow,
    doc,
    freeze,
    input_values,
    list_connection,
    load_one,
    money,
    payload_runner,
    row_builder,
    updating,
)
from graph.types.refs import OrganizationRef

ContractKind = strawberry.enum(m.ContractKind, description="What a contract governs.")
ContractStatus = strawberry.enum(m.ContractStatus, description="Where a contract stands.")


@strawberry.type(description="A contract between us and an organization, signed by the company.")
class Contract(relay.Node):
    id: relay.NodeID[int]
    number: str = doc("Contract number (unique).")
    title: str = doc("Title.")
    kind: ContractKind = doc("Sales, supply, distribution, service or framework.")
    status: ContractStatus = doc("Draft, active, expired or terminated.")
    valid_from: date = doc("First day of validity.")
    valid_to: date | None = doc("Last day of validity; null for open-ended.")
    price_terms: str | None = doc("Price terms.")
    payment_terms: str | None = doc("Payment terms.")
    service_terms: str | None = doc("Service terms.")
    created_at: datetime = doc("When the record was created.")
    updated_at: datetime = doc("When the record last changed.")
    archived_at: datetime | None = doc("When it was archived, if it was.")
    version: int = doc("Incremented on every change.")
    value_amount: strawberry.Private[Decimal | None]
    currency: strawberry.Private[str]
    organization_id: strawberry.Private[int]

    @strawberry.field(description="Contract value.")
    def value(self) -> Money | None:
        return money(self.value_amount, self.currency)

    @strawberry.field(description="The other party.")
    async def organization(self, info: Info) -> OrganizationRef | None:
        from graph.types.organizations import build_organization

        return await load_one(info, om.Organization, self.organization_id, build_organization)


build_contract = row_builder(Contract, renames={"value_amount": "value"})


@strawberry.input(description="Conditions on contracts.")
class ContractFilter:
    search: str | None = doc("Text in the title or number.", default=None)
    status: list[ContractStatus] | None = doc("Any of these statuses.", default=None)
    kinds: list[ContractKind] | None = doc("Any of these kinds.", default=None)
    valid_on: date | None = doc("Valid on this day.", default=None)
    include_archived: bool = doc("Include archived contracts.", default=False)


@strawberry.input(description="A new contract.")
class CreateContractInput:
    organization_id: strawberry.ID = doc("The other party.")
    number: str = doc("Contract number (unique).")
    title: str = doc("Title.")
    kind: ContractKind = doc("Kind.")
    valid_from: date = doc("First day of validity.")
    valid_to: date | None = doc("Last day of validity.", default=None)
    status: ContractStatus | None = doc("Status (default DRAFT).", default=None)
    value: Decimal | None = doc("Contract value.", default=None)
    currency: str | None = doc("Currency (default CNY).", default=None)
    price_terms: str | None = doc("Price terms.", default=None)
    payment_terms: str | None = doc("Payment terms.", default=None)
    service_terms: str | None = doc("Service terms.", default=None)


@strawberry.input(description="Changes to a contract; omitted fields stay as they are.")
class UpdateContractInput:
    number: str | None = doc("Contract number.", default=strawberry.UNSET)
    title: str | None = doc("Title.", default=strawberry.UNSET)
    kind: ContractKind | None = doc("Kind.", default=strawberry.UNSET)
    status: ContractStatus | None = doc("Status.", default=strawberry.UNSET)
    valid_from: date | None = doc("First day of validity.", default=strawberry.UNSET)
    valid_to: date | None = doc("Last day of validity.", default=strawberry.UNSET)
    value: Decimal | None = doc("Contract value.", default=strawberry.UNSET)
    currency: str | None = doc("Currency.", default=strawberry.UNSET)
    price_terms: str | None = doc("Price terms.", default=strawberry.UNSET)
    payment_terms: str | None = doc("Payment terms.", default=strawberry.UNSET)
    service_terms: str | None = doc("Service terms.", default=strawberry.UNSET)


@strawberry.type(description="The result of a contract mutation.")
class ContractPayload:
    contract: Contract | None = doc("The contract, when the mutation succeeded.")
    errors: list[UserError] = doc("Why nothing changed; empty on success.")


_contract = payload_runner(ContractPayload, "contract", build_contract)


@strawberry.type
class ContractQueries:
    @strawberry.field(description="Contracts, newest validity first.")
    async def contracts(
        self, info: Info,
        filter: ContractFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Contract]:
        return await list_connection(
            info, m.Contract, build_contract, r.contract_filter(filter, freeze(filter)), "valid_from", SortDirection.DESC,
            first, after, last, before,
        )


@strawberry.type
class ContractMutations:
    @strawberry.mutation(description="Record a contract with an organization.", permission_classes=[allow("records")])
    async def create_contract(self, info: Info, input: CreateContractInput) -> ContractPayload:
        return await _contract(info, lambda uow: r.create_contract(uow, input_values(input)))

    @strawberry.mutation(description="Change a contract.", permission_classes=[allow("records")])
    async def update_contract(self, info: Info, id: strawberry.ID, input: UpdateContractInput) -> ContractPayload:
        return await _contract(info, updating(m.Contract, "Contract", r.update_contract, id, input_values(input)))

    @strawberry.mutation(description="Archive a contract (history is kept).", permission_classes=[allow("records")])
    async def archive_contract(self, info: Info, id: strawberry.ID) -> ContractPayload:
        return await _contract(info, updating(m.Contract, "Contract", r.archive_contract, id))
