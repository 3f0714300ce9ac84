"""The Xero simulator's own admin endpoints: expire tokens, pay, void or delete, webhook targets and sends."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aiohttp import web

from simulators.wire import json_response, read_json
from simulators.xero.events import XeroEvents
from simulators.xero.money import money
from simulators.xero.schema import ms_date, ms_now
from simulators.xero.validation import XeroValidation

__all__ = ["XeroAdmin"]


class XeroAdmin(XeroValidation, XeroEvents):
    """The ``/_sim/xero/...`` and ``/_sim/webhooks...`` handlers (the shared ``/_sim/`` API is ``SimServer``'s)."""

    async def admin_expire_tokens(self, request: web.Request) -> web.Response:
        count = len(self.identity.access)
        self.identity.access.clear()
        return json_response({"expired": count})

    async def admin_pay(self, request: web.Request) -> web.Response:
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return json_response({"error": "no such invoice"}, 404)
        if inv["Status"] != "AUTHORISED":
            return json_response(
                {"error": f"only AUTHORISED invoices can be paid (this one is {inv['Status']})"}, 400
            )
        body = await read_json(request) or {}
        due = inv["Total"] - inv["AmountPaid"]
        amount = money(Decimal(str(body.get("amount", due))))
        if not 0 < amount <= due:
            return json_response({"error": f"amount must be in (0, {due}]"}, 400)
        paid_on = date.fromisoformat(body["date"]) if body.get("date") else date.today()
        inv["Payments"].append(
            {
                "PaymentID": self.new_id("payment"),
                "Date": ms_date(paid_on),
                "Amount": amount,
                "CurrencyRate": Decimal("1.0"),
                "HasAccount": False,
                "HasValidationErrors": False,
            }
        )
        inv["AmountPaid"] = money(inv["AmountPaid"] + amount)
        if inv["AmountPaid"] >= inv["Total"]:
            inv["Status"] = "PAID"
            inv["_paid_on"] = paid_on
        inv["UpdatedDateUTC"] = ms_now()
        delivery = None
        if self.config.get("webhook_url") and self.config.get("webhook_key"):
            event = self.event("INVOICE", "UPDATE", inv["InvoiceID"], request)
            if body.get("wait_for_webhook"):
                delivery = await self.send_events([event])
            else:
                self.spawn(self.send_events([event]))
        return json_response({"invoice": self.render_invoice(inv), "webhook": delivery})

    async def admin_set_status(self, request: web.Request) -> web.Response:
        """A person voids or deletes the invoice in the Xero app (not through this API's caller)."""
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return json_response({"error": "no such invoice"}, 404)
        body = await read_json(request) or {}
        target = str(body.get("status", ""))
        if target not in ("VOIDED", "DELETED"):
            return json_response({"error": "status must be VOIDED or DELETED"}, 400)
        reason = self.transition(inv, target)
        if reason:
            return json_response({"error": reason}, 400)
        inv["Status"] = target
        inv["UpdatedDateUTC"] = ms_now()
        delivery = await self._announce(inv, request, bool(body.get("wait_for_webhook")))
        return json_response({"invoice": self.render_invoice(inv), "webhook": delivery})

    async def admin_webhooks(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        self.config["webhook_url"] = body.get("url")
        self.config["webhook_key"] = body.get("key") or body.get("secret")
        return json_response(
            {"url": self.config["webhook_url"], "configured": bool(self.config["webhook_key"])}
        )

    async def admin_send_webhooks(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        events = [
            self.event(
                e.get("eventCategory", "INVOICE"),
                e.get("eventType", "UPDATE"),
                e["resourceId"],
                tenant=e.get("tenantId"),
            )
            | e
            for e in body.get("events") or []
        ]
        outcome = await self.send_events(events, body.get("url"), body.get("key"))
        return json_response(outcome, 400 if "payload" not in outcome else 200)

    async def admin_intent(self, request: web.Request) -> web.Response:
        """Xero's intent-to-receive check: a signed and a badly signed empty payload; 200 then 401 passes."""
        body = await read_json(request) or {}
        good = await self.send_events([], body.get("url"), body.get("key"))
        bad = await self.send_events([], body.get("url"), body.get("key"), bad_signature=True)
        passed = good.get("status") == 200 and not good.get("response_text") and bad.get("status") == 401
        return json_response(
            {"passed": passed, "signed": good.get("status"), "badly_signed": bad.get("status")}
        )
