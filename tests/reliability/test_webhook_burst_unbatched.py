"""The webhook burst of test_webhook_burst.py deal by deal (``BATCHED_STEPS=false``, as an operator may set it):
about 1,100 Xero calls, more than Xero's budget, so its 429s set the pace and no deal fails because of them."""

from __future__ import annotations

from tests.e2e.conftest import module_host
from tests.reliability import test_webhook_burst as burst

stack_host = module_host({**burst.APP_SETTINGS, "BATCHED_STEPS": "false"})
# The same test, run here against this module's host.
test_burst_deal_by_deal = burst.test_webhook_burst_with_duplicates_under_xero_rate_limits_invoices_each_deal_exactly_once  # noqa: E501
