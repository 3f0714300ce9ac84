"""Write the function app's webhook URL into the HubSpot project before ``hs project upload``.

    python -m scripts.hubspot_webhook_url                      # the URL from $HUBSPOT_WEBHOOK_URL (azd output)
    python -m scripts.hubspot_webhook_url https://<app>/api/webhooks/hubspot
    python -m scripts.hubspot_webhook_url --check              # exit 1 while the placeholder is still there

The committed ``webhooks-hsmeta.json`` carries a placeholder on a reserved domain (``.invalid``), so an
upload before this step cannot send deals to somebody else's server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
WEBHOOKS_FILE = REPO / "hubspot-app/src/app/webhooks/webhooks-hsmeta.json"
PLACEHOLDER = "https://example.invalid/api/webhooks/hubspot"
WEBHOOK_PATH = "/api/webhooks/hubspot"


def url_problem(url: str) -> str | None:
    """Why HubSpot must not be given ``url`` as its target, or None."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "HubSpot delivers only to a public https URL"
    if parts.hostname.endswith(".invalid") or parts.hostname in ("localhost", "127.0.0.1"):
        return f"{parts.hostname} is not reachable from HubSpot"
    if parts.path != WEBHOOK_PATH or parts.query or parts.fragment:
        return f"the app receives HubSpot webhooks at {WEBHOOK_PATH} (no query): got {parts.path or '/'}"
    return None


def set_target_url(url: str, path: Path = WEBHOOKS_FILE) -> None:
    """Put ``url`` into the file's ``config.settings.targetUrl``, leaving the rest as it was."""
    document = json.loads(path.read_text())
    document["config"]["settings"]["targetUrl"] = url
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def current_target_url(path: Path = WEBHOOKS_FILE) -> str:
    return str(json.loads(path.read_text())["config"]["settings"]["targetUrl"])


def main(argv: Sequence[str] | None = None, path: Path = WEBHOOKS_FILE) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.hubspot_webhook_url", description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("HUBSPOT_WEBHOOK_URL", ""))
    parser.add_argument("--check", action="store_true", help="only check the file's target URL")
    args = parser.parse_args(argv)
    if args.check:
        problem = url_problem(current_target_url(path))
        if problem:
            print(f"{path.name}: targetUrl not set ({problem}); run python -m scripts.hubspot_webhook_url",
                  file=sys.stderr)
            return 1
        print(f"targetUrl: {current_target_url(path)}")
        return 0
    if not args.url:
        print("no URL given and HUBSPOT_WEBHOOK_URL is not set (eval \"$(azd env get-values)\" sets it)",
              file=sys.stderr)
        return 2
    problem = url_problem(args.url)
    if problem:
        print(f"refused {args.url!r}: {problem}", file=sys.stderr)
        return 2
    set_target_url(args.url, path)
    print(f"targetUrl: {args.url} ({path.relative_to(REPO) if path.is_relative_to(REPO) else path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
