"""Many deals' snapshots in a few HubSpot calls: batch reads of deals, their associations, lines, companies, contacts.

For up to 100 deals: one ``deals/batch/read``, one associations batch read per associated type (up to 1,000
ids a call), then one batch read each of the line items, the primary companies and the first contacts (100
ids a call). About seven calls for 100 deals where single reads (GraphQL) take 100.

Each deal is answered on its own, as ``HubSpotClient.get_deal_snapshot`` would: a deal that is gone is its
``not_found``; a property that cannot be read is its own BusinessRejection naming it, never the batch's. A
company (or contact) the mapping cannot read, or cannot find, is left None: the customer step reads it
itself when it needs it and says why then, as after a REST read. A failure of a whole call raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx
from pydantic import Field, ValidationError

from shared.connectors.hubspot_mapping import (
    COMPANY_PROPERTIES,
    CONTACT_PROPERTIES,
    DEAL_PROPERTIES,
    LINE_ITEM_PROPERTIES,
    to_company,
    to_deal,
    to_line_item,
    to_person,
)
from shared.connectors.hubspot_models import (
    AssociatedRecord,
    AssociationList,
    AssociationRef,
    BatchReadInput,
    BatchReadRequest,
    BatchReadResponse,
    HubSpotObject,
    Paging,
    _Wire,
)
from shared.domain.errors import BusinessRejection, PermanentError, SyncError
from shared.domain.models import Company, Deal, DealSnapshot, LineItem, Person

__all__ = ["MAX_ASSOCIATION_INPUTS", "MAX_BATCH_READ", "SnapshotReader"]

SERVICE = "hubspot"
MAX_BATCH_READ = 100  # inputs per object batch read
MAX_ASSOCIATION_INPUTS = 1000  # inputs per associations batch read
PRIMARY_COMPANY, PRIMARY_COMPANY_TYPE = "deal_to_company", 5
# Missing records are answered per deal; an ids' "no associations" is an empty list, not a failure.
TOLERATED = ("OBJECT_NOT_FOUND", "NO_ASSOCIATIONS_FOUND")
# The inline association names ``to_deal`` reads, by the associations API's type names.
ASSOCIATED = {"companies": "companies", "contacts": "contacts", "line_items": "line items"}


class _Id(_Wire):
    id: str


class _AssociationResult(_Wire):
    from_: _Id = Field(alias="from")
    to: list[AssociatedRecord] = []
    paging: Paging | None = None


class _AssociationBatch(_Wire):
    results: list[_AssociationResult] = []
    errors: list[dict[str, Any]] = []


def _chunks(ids: list[str], size: int) -> list[list[str]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


class SnapshotReader:
    """The batch reads for one ``HubSpotClient`` (its HTTP client, paths, error mapping and paged reads)."""

    def __init__(self, request: Callable[..., httpx.Response], objects: Callable[[str], str], api_version: str,
                 fail: Callable[[httpx.Response, str], SyncError],
                 read_associations: Callable[[str, str], AssociationList], deal_properties: tuple[str, ...]) -> None:
        self._request, self._objects, self._version = request, objects, api_version
        self._fail, self._read_associations, self.deal_properties = fail, read_associations, deal_properties

    def snapshots(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | SyncError]:
        wanted = list(dict.fromkeys(deal_ids))
        raw = self._batch_read("deals", wanted, (*DEAL_PROPERTIES, *self.deal_properties))
        out: dict[str, DealSnapshot | SyncError] = {
            i: PermanentError(f"deal {i}: not found", service=SERVICE, code="not_found", status=404)
            for i in wanted if i not in raw}
        present = [i for i in wanted if i in raw]
        links = {to: self._associations(present, to) for to in ASSOCIATED}
        deals: dict[str, Deal] = {}
        for deal_id in present:
            assoc = {name: links[to].get(deal_id, AssociationList()) for to, name in ASSOCIATED.items()}
            try:
                deals[deal_id] = to_deal(raw[deal_id].model_copy(update={"associations": assoc}),
                                         self.deal_properties)
            except BusinessRejection as exc:
                out[deal_id] = exc
        lines = self._batch_read("line_items", [i for d in deals.values() for i in d.line_item_ids],
                                 LINE_ITEM_PROPERTIES)
        companies = self._batch_read("companies", [d.company_ids[0] for d in deals.values() if d.company_ids],
                                     COMPANY_PROPERTIES)
        people = self._batch_read("contacts", [d.contact_ids[0] for d in deals.values() if d.contact_ids],
                                  CONTACT_PROPERTIES)
        for deal_id, deal in deals.items():
            try:
                out[deal_id] = DealSnapshot(deal=deal, line_items=_lines(deal, lines),
                                            company=_read(to_company, companies, deal.company_ids),
                                            first_contact=_read(to_person, people, deal.contact_ids))
            except SyncError as exc:
                out[deal_id] = exc
        return {i: out[i] for i in wanted}

    def _batch_read(self, kind: str, ids: list[str], properties: tuple[str, ...]) -> dict[str, HubSpotObject]:
        """The records that exist, by id; one call per 100 ids."""
        found: dict[str, HubSpotObject] = {}
        what = kind.replace("_", " ")
        for chunk in _chunks(list(dict.fromkeys(ids)), MAX_BATCH_READ):
            body = BatchReadRequest(inputs=[BatchReadInput(id=i) for i in chunk], properties=list(properties))
            response = self._request("POST", self._objects(f"{kind}/batch/read"),
                                     json=body.model_dump(exclude_none=True))
            result = BatchReadResponse.model_validate(self._answer(response, what))
            self._check_errors(result.errors, what, response.status_code)
            found.update((obj.id, obj) for obj in result.results)
        return found

    def _associations(self, deal_ids: list[str], to_type: str) -> dict[str, AssociationList]:
        """Each deal's associations to ``to_type`` (a primary company first); one call per 1,000 deals, and a
        deal with more than one page read on by itself."""
        found: dict[str, AssociationList] = {}
        what = f"deal {to_type.replace('_', ' ')}"
        for chunk in _chunks(deal_ids, MAX_ASSOCIATION_INPUTS):
            response = self._request("POST", f"/crm/associations/{self._version}/deals/{to_type}/batch/read",
                                     json={"inputs": [{"id": i} for i in chunk]})
            batch = _AssociationBatch.model_validate(self._answer(response, what))
            self._check_errors(batch.errors, what, response.status_code)
            for entry in batch.results:
                if entry.paging and entry.paging.next:
                    found[entry.from_.id] = self._read_associations(entry.from_.id, to_type)
                else:
                    found[entry.from_.id] = AssociationList(results=[
                        AssociationRef(id=str(r.toObjectId), type=PRIMARY_COMPANY if any(
                            t.typeId == PRIMARY_COMPANY_TYPE for t in r.associationTypes) else None)
                        for r in entry.to])
        if to_type == "companies":
            # Invoice the deal's primary company, never a reseller or subsidiary associated beside it.
            for deal_id, listing in found.items():
                primary = [r for r in listing.results if r.type == PRIMARY_COMPANY]
                found[deal_id] = AssociationList(results=primary + [r for r in listing.results if r not in primary])
        return found

    def _answer(self, response: httpx.Response, what: str) -> Any:
        if response.status_code not in (200, 207):
            raise self._fail(response, what)
        try:
            return response.json()
        except ValueError:
            raise PermanentError(f"{what}: answer is not JSON", service=SERVICE, code="bad_response",
                                 status=response.status_code) from None

    @staticmethod
    def _check_errors(errors: list[dict[str, Any]], what: str, status: int) -> None:
        # Before 2026-09 a partly failed batch answers 207; from 2026-09, 200 with errors/numErrors.
        others = [e for e in errors if not any(t in f"{e.get('category')} {e.get('subCategory')}" for t in TOLERATED)]
        if others:
            raise PermanentError(
                f"{what}: {len(others)} batch error(s): {str(others[0].get('message', ''))[:300]}",
                service=SERVICE, code="batch_error", status=status, details={"category": others[0].get("category")})


def _lines(deal: Deal, lines: dict[str, HubSpotObject]) -> tuple[LineItem, ...]:
    missing = [i for i in deal.line_item_ids if i not in lines]
    if missing:
        raise PermanentError(f"line items not found: {', '.join(missing)}", service=SERVICE, code="not_found",
                             details={"ids": missing})
    return tuple(to_line_item(lines[i]) for i in deal.line_item_ids)


def _read[T: (Company, Person)](parse: Callable[[HubSpotObject], T], found: dict[str, HubSpotObject],
                                ids: tuple[str, ...]) -> T | None:
    """The first associated record, mapped; None (read again when needed) when it is missing or unreadable."""
    obj = found.get(ids[0]) if ids else None
    if obj is None:
        return None
    try:
        return parse(obj)
    except (BusinessRejection, ValidationError):
        return None
