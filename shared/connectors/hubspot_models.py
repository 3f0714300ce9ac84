"""Pydantic models of the HubSpot CRM payloads (date-based versions) the connector sends and reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AssociatedRecord",
    "AssociationList",
    "AssociationPage",
    "AssociationRef",
    "AssociationType",
    "BatchReadInput",
    "BatchReadRequest",
    "BatchReadResponse",
    "HubSpotErrorBody",
    "HubSpotObject",
    "Paging",
    "PropertyDefinition",
    "PropertyGroup",
    "PropertyUpdate",
    "SearchFilter",
    "SearchFilterGroup",
    "SearchRequest",
    "SearchResponse",
    "SearchSort",
    "WebhookEvent",
]


class _Wire(BaseModel):
    """Vendor payloads: tolerate fields HubSpot adds later, never invent ours."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class AssociationRef(_Wire):
    id: str
    type: str | None = None


class NextPage(_Wire):
    after: str


class Paging(_Wire):
    next: NextPage | None = None


class AssociationList(_Wire):
    results: list[AssociationRef] = []
    paging: Paging | None = None


class AssociationType(_Wire):
    category: str | None = None
    typeId: int
    label: str | None = None


class AssociatedRecord(_Wire):
    """One record of an associations read: its id and every association type that links it."""

    toObjectId: int | str
    associationTypes: list[AssociationType] = []


class AssociationPage(_Wire):
    """``GET /crm/objects/<version>/{type}/{id}/associations/{to}``: one page."""

    results: list[AssociatedRecord] = []
    paging: Paging | None = None


class HubSpotObject(_Wire):
    """A CRM record (deal, company, contact, line item): every property value is a string or null."""

    id: str
    properties: dict[str, str | None] = {}
    createdAt: str | None = None
    updatedAt: str | None = None
    archived: bool = False
    associations: dict[str, AssociationList] | None = None


class PropertyUpdate(_Wire):
    properties: dict[str, str]


class BatchReadInput(_Wire):
    id: str


class BatchReadRequest(_Wire):
    inputs: list[BatchReadInput]
    properties: list[str]


class BatchReadResponse(_Wire):
    """A batch answer: 207 with ``errors`` before 2026-09, 200 with ``errors`` and ``numErrors`` since."""

    status: str | None = None
    results: list[HubSpotObject] = []
    errors: list[dict[str, Any]] = []
    numErrors: int = 0


FilterOperator = Literal[
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"
]


class SearchFilter(_Wire):
    propertyName: str
    operator: FilterOperator
    value: str | None = None
    highValue: str | None = None
    values: list[str] | None = None


class SearchFilterGroup(_Wire):
    filters: list[SearchFilter]


class SearchSort(_Wire):
    propertyName: str
    direction: Literal["ASCENDING", "DESCENDING"] = "ASCENDING"


class SearchRequest(_Wire):
    filterGroups: list[SearchFilterGroup] = []
    sorts: list[SearchSort] = []
    properties: list[str] = []
    limit: int = Field(default=100, ge=1, le=200)
    after: str | None = None


class SearchResponse(_Wire):
    total: int = 0
    results: list[HubSpotObject] = []
    paging: Paging | None = None


class PropertyDefinition(_Wire):
    name: str
    label: str
    type: Literal["string", "number", "date", "datetime", "enumeration", "bool"]
    fieldType: str
    groupName: str
    description: str = ""


class PropertyGroup(_Wire):
    name: str
    label: str
    displayOrder: int = -1


class HubSpotErrorBody(_Wire):
    status: str | None = None
    message: str = ""
    correlationId: str | None = None
    category: str | None = None
    errors: list[dict[str, Any]] = []


class WebhookEvent(_Wire):
    """One event of a HubSpot webhook batch (``deal.creation``, ``deal.propertyChange``, ...)."""

    eventId: int
    subscriptionId: int
    portalId: int
    appId: int
    occurredAt: int
    subscriptionType: str
    attemptNumber: int = 0
    objectId: int
    propertyName: str | None = None
    propertyValue: str | None = None
    changeSource: str | None = None
