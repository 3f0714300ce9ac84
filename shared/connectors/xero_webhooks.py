"""Xero webhook signature (``x-xero-signature``) and the intent-to-receive rule, as pure functions."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["intent_to_receive_status", "sign", "verify"]


def sign(webhook_key: str, body: bytes) -> str:
    """base64(HMAC-SHA256(webhook key, raw body)): what Xero sends in ``x-xero-signature``."""
    return base64.b64encode(hmac.new(webhook_key.encode(), body, hashlib.sha256).digest()).decode()


def verify(webhook_key: str, body: bytes, signature: str | None) -> bool:
    """True if ``signature`` is Xero's for these raw bytes (constant-time comparison)."""
    if not signature:
        return False
    # surrogatepass: a forged header may carry any code point; it must compare unequal, not raise.
    return hmac.compare_digest(sign(webhook_key, body).encode(), signature.strip().encode("utf-8", "surrogatepass"))


def intent_to_receive_status(webhook_key: str, body: bytes, signature: str | None) -> int:
    """The status to answer any Xero webhook delivery with: 200 (empty body) if signed, else 401.

    Xero's intent-to-receive check sends correctly and incorrectly signed payloads and expects
    exactly this, within 5 seconds; real deliveries follow the same rule, so one function serves both.
    """
    return 200 if verify(webhook_key, body, signature) else 401
