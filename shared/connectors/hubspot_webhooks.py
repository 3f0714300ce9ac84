"""HubSpot webhook signature v3: sign (for simulators and tests) and verify (pure functions)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

__all__ = ["MAX_AGE_MS", "canonical_uri", "sign_v3", "verify_v3"]

MAX_AGE_MS = 5 * 60 * 1000

# HubSpot decodes exactly these escapes in the URI before signing (its v3 documentation).
_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def canonical_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the listed percent-escapes decoded (either case)."""
    out = uri
    for escaped, plain in _DECODE.items():
        out = out.replace(escaped, plain).replace(escaped.lower(), plain)
    return out


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> str:
    """The ``X-HubSpot-Signature-v3`` value for a request."""
    message = method.upper().encode() + canonical_uri(uri).encode() + body + str(timestamp_ms).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_v3(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now_ms: int | None = None,
    max_age_ms: int = MAX_AGE_MS,
) -> bool:
    """True if the signature is HubSpot's for this exact request and the timestamp is within 5 minutes.

    ``uri`` is the public URI HubSpot called (scheme, host, path and query), not the one a proxy
    forwarded; ``body`` the raw bytes, before any JSON parsing.
    """
    # isdigit() alone admits "²" and other Unicode digits that int() refuses: ASCII digits only.
    # At most 16 digits (epoch ms has 13): int() refuses strings over 4,300 digits with a ValueError.
    stamp = timestamp.strip() if timestamp else ""
    if not signature or not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 16):
        return False
    ts = int(stamp)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    # A replayed request older than the window is rejected; so is one from too far in the future.
    if abs(now - ts) > max_age_ms:
        return False
    expected = sign_v3(secret, method, uri, body, ts)
    # surrogatepass: a forged header may carry any code point; it must compare unequal, not raise.
    return hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "surrogatepass"))
