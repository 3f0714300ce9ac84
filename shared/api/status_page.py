"""The status page: one self-contained HTML file (no build step, no CDN) that reads the transactions API."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from shared.api.responses import ApiResponse

PAGE = Path(__file__).with_name("static") / "status.html"


@cache
def _html() -> str:
    return PAGE.read_text(encoding="utf-8")


def status_page() -> ApiResponse:
    return ApiResponse(200, _html(), "text/html", {
        "Cache-Control": "no-store",
        # Everything is inline; nothing may load from elsewhere.
        "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                   "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
    })
