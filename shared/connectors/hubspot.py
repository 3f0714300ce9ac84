"""The CrmPort adapter for HubSpot's CRM API on date-based paths, and ``python -m shared.connectors.hubspot setup``.

Every call uses ``/crm/{objects,properties,associations}/<version>/...`` with the version a setting
(``HUBSPOT_API_VERSION``): the numeric ``/crm/v3`` and ``/crm/v4`` paths go unsupported in 2027.

Exceptions (``shared.domain.errors``), with the HubSpot API's own message:

    SyncError
    ├── TransientError     429 (``retry_after`` from Retry-After), 5xx, timeouts, connection errors
    ├── PermanentError     401/403 (token), 404 for a record the caller named (code ``not_found``),
    │                      other 4xx a retry cannot fix (code ``http_<status>``; 410 for a refused API
    │                      version), a batch answer carrying errors (code ``batch_error``)
    └── BusinessRejection  bad data in HubSpot: a property that cannot be parsed (code ``invalid_property``,
                           naming the property), or a 400 VALIDATION_ERROR on a write, such as a portal
                           validation rule (code ``validation``, ``details["properties"]`` names them)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from shared.config import Settings
from shared.connectors import jsonwire
from shared.connectors.http_client import ServiceHttp
from shared.connectors.hubspot_batch import SnapshotReader
from shared.connectors.hubspot_batch_update import marker_batch_body, refusal
from shared.connectors.hubspot_graphql import (
    LINE_ITEMS_QUERY,
    GraphQLShapeError,
    LinePage,
    TooLargeForOneRead,
    deal_query,
    deal_snapshot_from,
    line_items_page,
)
from shared.connectors.hubspot_mapping import (
    COMPANY_PROPERTIES,
    CONTACT_PROPERTIES,
    DEAL_PROPERTIES,
    LINE_ITEM_PROPERTIES,
    MARKER_PROPERTIES,
    to_company,
    to_deal,
    to_line_item,
    to_person,
)
from shared.connectors.hubspot_models import (
    AssociationList,
    AssociationPage,
    AssociationRef,
    BatchReadInput,
    BatchReadRequest,
    BatchReadResponse,
    HubSpotErrorBody,
    HubSpotObject,
    PropertyDefinition,
    PropertyGroup,
    PropertyUpdate,
    SearchFilter,
    SearchFilterGroup,
    SearchRequest,
    SearchResponse,
    SearchSort,
)
from shared.connectors.limiter import RateLimiter
from shared.connectors.ports import DealPage
from shared.domain.errors import BusinessRejection, PermanentError, SyncError
from shared.domain.mapping_file import deal_properties_of
from shared.domain.models import Company, Deal, DealSnapshot, LineItem, Person

__all__ = ["APP_PROPERTIES", "PROPERTY_GROUP", "HubSpotClient", "main"]

SERVICE = "hubspot"
DEFAULT_API_VERSION = "2026-09"  # the newest stable date-based version
USER_AGENT = "invoice-sync (hubspot connector)"  # lets a portal's API log (and the simulator) tell our calls apart
GRAPHQL_REPROBE_SECONDS = 3600.0  # a portal may get GraphQL later (plan or scope change): ask again hourly
log = logging.getLogger(__name__)
ASSOCIATIONS_PAGE = 500  # the most records one associations read returns
PRIMARY_COMPANY = "deal_to_company"  # the inline name of the primary company's type; others are "..._unlabeled"
PRIMARY_COMPANY_TYPE = 5  # HubSpot-defined association type id of a deal's primary company
# HubSpot's search has a limit of its own: about 5 requests per second per account, answered with a 429
# that carries no Retry-After. Searches are paced below it here, so that paging never meets it.
SEARCHES_PER_SECOND = 5
PROPERTY_GROUP = PropertyGroup(name="invoice_sync", label="Invoice sync", displayOrder=-1)

# The custom deal properties this app writes (and payment_terms_days, which it reads).
APP_PROPERTIES: tuple[PropertyDefinition, ...] = tuple(
    PropertyDefinition(
        name=name,
        label=label,
        type=kind,
        fieldType=field,
        groupName=PROPERTY_GROUP.name,
        description=description,
    )
    for name, label, kind, field, description in (
        (
            "invoice_sync_status",
            "Invoice sync status",
            "string",
            "text",
            "in_progress, synced, failed, compensated or needs_attention",
        ),
        (
            "invoice_sync_transaction_id",
            "Invoice sync transaction",
            "string",
            "text",
            "The sync run that holds the deal",
        ),
        ("xero_invoice_id", "Xero invoice ID", "string", "text", "InvoiceID in Xero"),
        ("xero_invoice_number", "Xero invoice number", "string", "text", "InvoiceNumber in Xero"),
        ("xero_invoice_url", "Xero invoice link", "string", "text", "Link to the invoice"),
        ("invoice_sync_error", "Invoice sync error", "string", "textarea", "Why the last sync failed"),
        ("invoice_paid_status", "Invoice paid status", "string", "text",
         "partially_paid or paid, as Xero reports payments"),
        ("invoice_paid_date", "Invoice paid date", "date", "date", "When the invoice was fully paid"),
        ("invoice_amount_paid", "Invoice amount paid", "number", "number", "What was paid of the invoice so far"),
        ("invoice_amount_due", "Invoice amount due", "number", "number", "What is still due on the invoice"),
        ("payment_terms_days", "Payment terms (days)", "number", "number", "Days until the invoice is due"),
    )
)


def _invalid_properties(response: httpx.Response) -> list[str]:
    """The property names a HubSpot VALIDATION_ERROR names: ``errors[].context.propertyName``, or the
    ``name`` of each entry of the JSON list HubSpot puts in the message ("Property values were not valid: [...]")."""
    try:
        body = response.json()
    except ValueError:
        return []
    names: list[str] = []
    for error in body.get("errors") or [] if isinstance(body, dict) else []:
        context = error.get("context") if isinstance(error, dict) else None
        found = context.get("propertyName") if isinstance(context, dict) else None
        names += [str(n) for n in (found if isinstance(found, list) else [found] if found else [])]
    message = body.get("message") if isinstance(body, dict) else None
    if not names and isinstance(message, str) and "[" in message:
        try:
            listed = json.loads(message[message.index("["):])
        except ValueError:
            listed = []
        names += [str(e["name"]) for e in listed if isinstance(e, dict) and e.get("name")]
    return list(dict.fromkeys(names))[:10]


def _epoch_ms(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return str(int(aware.timestamp() * 1000))


class HubSpotClient:
    """CrmPort over HubSpot's REST API. One instance per process; thread-safe (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        access_token: SecretStr | str,
        *,
        timeout: float = 20.0,
        requests_per_10s: int | None = 100,
        time_scale: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        searches_per_second: int | None = SEARCHES_PER_SECOND,
        deal_read: str = "auto",
        api_version: str = DEFAULT_API_VERSION,
        deal_properties: tuple[str, ...] = (),
    ) -> None:
        if not re.fullmatch(r"20\d{2}-(0[1-9]|1[0-2])", api_version):
            raise ValueError(f"HubSpot API version must be a date version like 2026-09, not {api_version!r}")
        self.api_version = api_version
        token = access_token if isinstance(access_token, SecretStr) else SecretStr(access_token)
        limiter = RateLimiter(requests_per_10s, 10.0, time_scale=time_scale) if requests_per_10s else None
        self._http = ServiceHttp(
            SERVICE,
            base_url,
            timeout=timeout,
            limiter=limiter,
            transport=transport,
            headers={"Authorization": f"Bearer {token.get_secret_value()}", "User-Agent": USER_AGENT},
        )
        self._search_pace = (RateLimiter(searches_per_second, 1.0, time_scale=time_scale)
                             if searches_per_second else None)
        # GraphQL is tried while this is in the past; a portal that refuses it moves it an hour ahead.
        self._graphql_after = float("inf") if deal_read == "rest" else 0.0
        # Further deal properties a deal read carries (the invoice mapping's tracking rules name them).
        self.deal_properties = tuple(p for p in deal_properties if p not in DEAL_PROPERTIES)
        self._deal_query = deal_query(self.deal_properties)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, transport: httpx.BaseTransport | None = None
    ) -> HubSpotClient:
        return cls(
            settings.hubspot_base_url,
            settings.hubspot_access_token,
            timeout=settings.http_timeout_seconds,
            requests_per_10s=settings.hubspot_requests_per_10s,
            time_scale=settings.rate_limit_time_scale,
            transport=transport,
            deal_read=settings.hubspot_deal_read,
            api_version=settings.hubspot_api_version,
            deal_properties=deal_properties_of(settings.invoice_mapping),
        )

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={self._http.base_url!r}, access_token=SecretStr('**********'))"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---

    def _objects(self, path: str) -> str:
        """``/crm/objects/<version>/<path>``: records, their associations, batches and search."""
        return f"/crm/objects/{self.api_version}/{path}"

    def _properties(self, path: str) -> str:
        return f"/crm/properties/{self.api_version}/{path}"

    def _fail(self, response: httpx.Response, what: str) -> PermanentError | BusinessRejection:
        try:
            body = HubSpotErrorBody.model_validate(response.json())
            message, category = body.message or response.reason_phrase, body.category
        except (ValueError, ValidationError):
            message, category = ServiceHttp.error_text(response), None
        status = response.status_code
        details: dict[str, Any] = {"category": category} if category else {}
        if status == 404:
            return PermanentError(
                f"{what}: not found ({message})",
                service=SERVICE,
                code="not_found",
                status=status,
                details=details,
            )
        if status in (401, 403):
            return PermanentError(
                f"{what}: not authorised ({message})",
                service=SERVICE,
                code="unauthorized",
                status=status,
                details=details,
            )
        if status in (400, 422) and category == "VALIDATION_ERROR":
            # A portal rule (2026-09 enforces them on every write) or a value HubSpot refuses: bad data
            # or a portal setting a person must change, never something a retry fixes.
            names = _invalid_properties(response)
            if names:
                details["properties"] = names
            named = f" (property {', '.join(names)})" if names and not all(n in message for n in names) else ""
            return BusinessRejection(
                f"{what}: HubSpot refused the values{named}: {message}",
                service=SERVICE, code="validation", status=status, details=details,
            )
        return PermanentError(
            f"{what}: {message}", service=SERVICE, code=f"http_{status}", status=status, details=details
        )

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PermanentError(
                f"{what}: answer is not JSON",
                service=SERVICE,
                code="bad_response",
                status=response.status_code,
            ) from None

    def _object(self, response: httpx.Response, what: str) -> HubSpotObject:
        if response.status_code != 200:
            raise self._fail(response, what)
        try:
            return HubSpotObject.model_validate(self._json(response, what))
        except ValidationError as exc:
            raise PermanentError(
                f"{what}: unexpected answer: {exc.error_count()} errors", service=SERVICE, code="bad_response"
            ) from None

    # --- CrmPort ---

    def get_deal(self, deal_id: str) -> Deal:
        response = self._http.request(
            "GET",
            self._objects(f"deals/{deal_id}"),
            params={"properties": ",".join((*DEAL_PROPERTIES, *self.deal_properties)),
                    "associations": "companies,contacts,line_items"},
        )
        deal = self._object(response, f"deal {deal_id}")
        return to_deal(self._complete_associations(deal), self.deal_properties)

    def _complete_associations(self, deal: HubSpotObject) -> HubSpotObject:
        """The deal with every association read to the end, its primary company first.

        A read returns the first page of each association inline (100 records): a longer list is
        read again from the associations endpoint, page after page.
        """
        if not deal.associations:
            return deal
        complete: dict[str, AssociationList] = {}
        for key, first_page in deal.associations.items():
            to_type = "line_items" if key == "line items" else key
            listing = first_page
            if first_page.paging and first_page.paging.next and to_type in ("companies", "contacts", "line_items"):
                listing = self._read_associations(deal.id, to_type)
            if to_type == "companies":
                # Invoice the deal's primary company, never a reseller or subsidiary associated beside it.
                primary = [ref for ref in listing.results if ref.type == PRIMARY_COMPANY]
                listing = AssociationList(results=primary + [r for r in listing.results if r not in primary])
            complete[key] = listing
        return deal.model_copy(update={"associations": complete})

    def _read_associations(self, deal_id: str, to_type: str) -> AssociationList:
        """All of a deal's associations to ``to_type``, following ``paging.next.after`` to the end."""
        refs: list[AssociationRef] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            params = {"limit": str(ASSOCIATIONS_PAGE), **({"after": after} if after else {})}
            response = self._http.request(
                "GET", self._objects(f"deals/{deal_id}/associations/{to_type}"), params=params
            )
            what = f"deal {deal_id} {to_type.replace('_', ' ')}"
            if response.status_code != 200:
                raise self._fail(response, what)
            try:
                page = AssociationPage.model_validate(self._json(response, what))
            except ValidationError as exc:
                raise PermanentError(
                    f"{what}: unexpected answer: {exc.error_count()} errors", service=SERVICE, code="bad_response"
                ) from None
            for record in page.results:
                primary = any(t.typeId == PRIMARY_COMPANY_TYPE for t in record.associationTypes)
                refs.append(AssociationRef(id=str(record.toObjectId), type=PRIMARY_COMPANY if primary else None))
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None:
                return AssociationList(results=refs)
            if after in seen:  # a cursor that does not advance would loop for ever
                raise PermanentError(f"{what}: paging does not advance", service=SERVICE, code="bad_response")
            seen.add(after)

    def get_deal_snapshot(self, deal_id: str) -> DealSnapshot:
        """The deal, with its lines, company and first contact in the same call where GraphQL is available."""
        if time.monotonic() >= self._graphql_after:
            snapshot = self._graphql_snapshot(deal_id)
            if snapshot is not None:
                return snapshot
        return DealSnapshot(deal=self.get_deal(deal_id))

    def get_deal_snapshots(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | SyncError]:
        """BatchCrmReads: many deals in a few batch reads (``shared.connectors.hubspot_batch``), each answered alone."""
        return SnapshotReader(self._http.request, self._objects, self.api_version, self._fail,
                              self._read_associations, self.deal_properties).snapshots(deal_ids)

    def _graphql_snapshot(self, deal_id: str) -> DealSnapshot | None:
        """One GraphQL read; None (and REST for the next hour) when the portal cannot answer it.

        Transient trouble (429, 5xx, network) raises as on every call: that says nothing about GraphQL.
        """
        what = f"deal {deal_id}"
        response = self._http.request("POST", "/collector/graphql", json={
            "operationName": "DealForInvoice", "query": self._deal_query, "variables": {"id": deal_id}})
        if response.status_code == 401:
            raise self._fail(response, what)  # the token itself is refused: REST would be too
        reason: str | None = None
        if response.status_code != 200:
            refused = self._fail(response, "GraphQL")
            reason = f"answered {response.status_code} {refused.details.get('category') or ''}: {refused}"
        else:
            try:
                body = jsonwire.loads(response.text)
            except ValueError:
                body = None
            errors = body.get("errors") if isinstance(body, dict) else None
            if not isinstance(body, dict) or errors:
                reason = f"query refused: {str(errors)[:300]}" if errors else "answer is not a JSON object"
            else:
                try:
                    snapshot = deal_snapshot_from(body.get("data"), lambda offset: self._graphql_lines(deal_id, offset),
                                                  self.deal_properties)
                except TooLargeForOneRead:
                    return None  # this deal only: REST pages through its line items
                except GraphQLShapeError as exc:
                    reason = f"unexpected answer: {exc}"
                else:
                    if snapshot is None:
                        raise PermanentError(f"{what}: not found", service=SERVICE, code="not_found", status=200)
                    return snapshot
        # Not on this portal's plan, no scope, or a schema that differs from ours: REST reads the same data.
        log.warning("HubSpot GraphQL unavailable (%s); reading deals over REST for the next hour", reason)
        self._graphql_after = time.monotonic() + GRAPHQL_REPROBE_SECONDS
        return None

    def _graphql_lines(self, deal_id: str, offset: int) -> LinePage:
        """The next page of a deal's line items over GraphQL; TooLargeForOneRead (read over REST) if refused."""
        variables = {"id": deal_id, "offset": offset}
        response = self._http.request("POST", "/collector/graphql", json={
            "operationName": "DealLineItems", "query": LINE_ITEMS_QUERY, "variables": variables})
        if response.status_code == 401:
            raise self._fail(response, f"deal {deal_id} line items")
        try:
            body = jsonwire.loads(response.text) if response.status_code == 200 else None
            if not isinstance(body, dict) or body.get("errors"):
                raise GraphQLShapeError(f"line item page answered {response.status_code}")
            return line_items_page(body.get("data"))
        except (ValueError, GraphQLShapeError) as exc:
            raise TooLargeForOneRead(str(exc)) from None

    def get_line_items(self, ids: Sequence[str]) -> list[LineItem]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        items: dict[str, LineItem] = {}
        # The batch endpoint takes at most 100 inputs per call.
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            body = BatchReadRequest(
                inputs=[BatchReadInput(id=i) for i in chunk], properties=list(LINE_ITEM_PROPERTIES)
            )
            response = self._http.request(
                "POST", self._objects("line_items/batch/read"), json=body.model_dump(exclude_none=True)
            )
            if response.status_code not in (200, 207):
                raise self._fail(response, "line items")
            result = BatchReadResponse.model_validate(self._json(response, "line items"))
            # Before 2026-09 a partly failed batch answers 207; from 2026-09, 200 with errors/numErrors.
            # A missing record is reported below by id; any other error is the batch failing.
            others = [e for e in result.errors if e.get("category") != "OBJECT_NOT_FOUND"]
            if others:
                raise PermanentError(
                    f"line items: {len(others)} batch error(s): {str(others[0].get('message', ''))[:300]}",
                    service=SERVICE, code="batch_error", status=response.status_code,
                    details={"category": others[0].get("category")},
                )
            items.update((obj.id, to_line_item(obj)) for obj in result.results)
        missing = [i for i in wanted if i not in items]
        if missing:
            raise PermanentError(
                f"line items not found: {', '.join(missing)}",
                service=SERVICE,
                code="not_found",
                details={"ids": missing},
            )
        return [items[i] for i in ids]

    def get_company(self, company_id: str) -> Company:
        response = self._http.request(
            "GET",
            self._objects(f"companies/{company_id}"),
            params={"properties": ",".join(COMPANY_PROPERTIES)},
        )
        return to_company(self._object(response, f"company {company_id}"))

    def get_person(self, contact_id: str) -> Person:
        response = self._http.request(
            "GET",
            self._objects(f"contacts/{contact_id}"),
            params={"properties": ",".join(CONTACT_PROPERTIES)},
        )
        return to_person(self._object(response, f"contact {contact_id}"))

    def search_deals(
        self, since: datetime, stage: str, after: str | None = None, limit: int = 100
    ) -> DealPage:
        request = SearchRequest(
            filterGroups=[
                SearchFilterGroup(
                    filters=[
                        SearchFilter(
                            propertyName="hs_lastmodifieddate", operator="GTE", value=_epoch_ms(since)
                        ),
                        SearchFilter(propertyName="dealstage", operator="EQ", value=stage),
                    ]
                )
            ],
            # Oldest first, ties broken by id: the order the batch's keyset paging (shared.sync.discovery) relies on.
            sorts=[SearchSort(propertyName="hs_lastmodifieddate", direction="ASCENDING")],
            properties=list(DEAL_PROPERTIES),
            limit=max(1, min(limit, 200)),
            after=after,
        )
        with self._search_pace.slot() if self._search_pace is not None else contextlib.nullcontext():
            response = self._http.request(
                "POST", self._objects("deals/search"), json=request.model_dump(exclude_none=True)
            )
        if response.status_code != 200:
            raise self._fail(response, "deal search")
        page = SearchResponse.model_validate(self._json(response, "deal search"))
        next_after = page.paging.next.after if page.paging and page.paging.next else None
        return DealPage(deals=[to_deal(obj) for obj in page.results], next_after=next_after)

    def update_markers(self, deal_id: str, values: Mapping[str, str]) -> None:
        unknown = sorted(set(values) - set(MARKER_PROPERTIES))
        if unknown:
            raise PermanentError(
                f"unknown sync marker(s): {', '.join(unknown)}", service=SERVICE, code="unknown_marker"
            )
        if not values:
            return
        body = PropertyUpdate(properties={MARKER_PROPERTIES[k]: v for k, v in values.items()})
        response = self._http.request("PATCH", self._objects(f"deals/{deal_id}"), json=body.model_dump())
        if response.status_code != 200:
            raise self._fail(response, f"update deal {deal_id}")

    def update_markers_batch(self, updates: Mapping[str, Mapping[str, str]]) -> None:
        """BatchCrmUpdates: one batch update for up to 100 deals, all or nothing (see the port)."""
        body = marker_batch_body(updates)
        if not body["inputs"]:
            return
        sent = [i["id"] for i in body["inputs"]]
        response = self._http.request("POST", self._objects("deals/batch/update"), json=body)
        if response.status_code == 400:
            raise refusal(response, sent)
        if response.status_code not in (200, 207):
            raise self._fail(response, f"batch update of {len(sent)} deals")
        # Partial answers (a 207, or 2026-09's inline errors) name what was not written: the caller writes
        # those again on their own; re-writing the others is harmless (known values).
        if response.status_code == 207 or self._json(response, "batch update").get("numErrors"):
            raise refusal(response, sent)

    def mark_paid(self, deal_id: str, paid_on: date, invoice_id: str) -> None:
        self.update_markers(
            deal_id, {"paid_status": "paid", "paid_date": paid_on.isoformat(), "invoice_id": invoice_id}
        )

    # --- setup ---

    def ensure_app_properties(self) -> list[str]:
        """Create the property group and the app's deal properties where missing; return what was created."""
        created: list[str] = []
        response = self._http.request(
            "POST", self._properties("deals/groups"), json=PROPERTY_GROUP.model_dump()
        )
        if response.status_code in (200, 201):
            created.append(f"group {PROPERTY_GROUP.name}")
        elif response.status_code != 409:  # 409: the group already exists, which is what we want
            raise self._fail(response, f"create property group {PROPERTY_GROUP.name}")
        for prop in APP_PROPERTIES:
            response = self._http.request("POST", self._properties("deals"), json=prop.model_dump())
            if response.status_code in (200, 201):
                created.append(prop.name)
            elif response.status_code != 409:
                raise self._fail(response, f"create property {prop.name}")
        return created


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m shared.connectors.hubspot setup``: create the app's custom deal properties (idempotent)."""
    parser = argparse.ArgumentParser(prog="python -m shared.connectors.hubspot")
    parser.add_argument("command", choices=["setup"])
    parser.add_argument("--base-url", default=os.environ.get("HUBSPOT_BASE_URL", "https://api.hubapi.com"))
    parser.add_argument("--api-version", default=os.environ.get("HUBSPOT_API_VERSION", DEFAULT_API_VERSION))
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("HTTP_TIMEOUT_SECONDS", "20")))
    args = parser.parse_args(argv)
    # The token comes only from the environment: a command-line argument would land in shell history.
    token = os.environ.get("HUBSPOT_ACCESS_TOKEN")
    if not token:
        print("missing setting HUBSPOT_ACCESS_TOKEN", file=sys.stderr)
        return 2
    with HubSpotClient(args.base_url, token, timeout=args.timeout, api_version=args.api_version) as client:
        try:
            created = client.ensure_app_properties()
        except Exception as exc:
            print(f"setup failed: {exc}", file=sys.stderr)
            return 1
    print("created: " + (", ".join(created) if created else "nothing (all properties exist)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
