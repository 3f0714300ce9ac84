"""Xero webhook signature (``x-xero-signature``): sign (for simulators and tests) and verify, as pure functions."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["sign", "verify"]


def sign(webhook_key: str, body: bytes) -> str:
    """base64(HMAC-SHA256(webhook key, raw body)): what Xero sends in ``x-xero-signature``."""
    return base64.b64encode(hmac.new(webhook_key.encode(), body, hashlib.sha256).digest()).decode()


def verify(webhook_key: str, body: bytes, signature: str | None) -> bool:
    """True if ``signature`` is Xero's for these raw bytes (constant-time comparison)."""
    if not signature:
        return False
    # surrogatepass: a forged header may carry any code point; it must compare unequal, not raise.
    return hmac.compare_digest(sign(webhook_key, body).encode(), signature.strip().encode("utf-8", "surrogatepass"))
