"""Lazy references between type modules, so domains can link both ways without cycles."""

from typing import Annotated

import strawberry

OrganizationRef = Annotated["Organization", strawberry.lazy("graph.types.organizations")]
ContactRef = Annotated["Contact", strawberry.lazy("graph.types.people")]
UserRef = Annotated["User", strawberry.lazy("graph.types.people")]
ContractRef = Annotated["Contract", strawberry.lazy("graph.types.contracts")]
ProductRef = Annotated["Product", strawberry.lazy("graph.types.products")]
SupplyRef = Annotated["Supply", strawberry.lazy("graph.types.products")]
OrderRef = Annotated["Order", strawberry.lazy("graph.types.orders")]
OrderLineRef = Annotated["OrderLine", strawberry.lazy("graph.types.orders")]
ShipmentRef = Annotated["Shipment", strawberry.lazy("graph.types.orders")]
ServiceRecordRef = Annotated["ServiceRecord", strawberry.lazy("graph.types.service")]
InteractionRef = Annotated["Interaction", strawberry.lazy("graph.types.interactions")]
EarlyWarningRef = Annotated["EarlyWarning", strawberry.lazy("graph.types.early_warnings")]
