"""Just enough of Bicep's syntax to read object literals' keys from a file, without a compiler."""

from __future__ import annotations

import re

_KEY = re.compile(r"^\s*(?:'([^']+)'|([A-Za-z_][A-Za-z0-9_]*))\s*:")


def strip_comments(text: str) -> str:
    """``text`` with // and /* */ comments blanked (string contents kept, so 'https://x' survives)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def object_after(text: str, marker: str) -> str:
    """The body of the object literal whose ``{`` is the first one after ``marker``, nested parts blanked."""
    text = strip_comments(text)
    at = text.find(marker)
    if at < 0:
        raise LookupError(f"{marker!r} not found")
    start = text.index("{", at + len(marker))
    depth, i, body = 0, start, []
    while i < len(text):
        ch = text[i]
        if ch == "'":
            j = i + 1
            while j < len(text) and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            if depth == 1:
                body.append(text[i : j + 1])
            i = j + 1
            continue
        if ch in "{[(":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif ch in "}])":
            depth -= 1
            if depth == 0:
                return "".join(body)
        if depth == 1:
            body.append(ch)
        i += 1
    raise ValueError(f"unbalanced braces after {marker!r}")


def object_keys(text: str, marker: str) -> dict[str, str]:
    """The top-level keys of the object literal after ``marker``, each with its (one-line) value."""
    keys: dict[str, str] = {}
    for line in object_after(text, marker).splitlines():
        match = _KEY.match(line)
        if match:
            keys[match.group(1) or match.group(2)] = line[match.end() :].strip()
    return keys
