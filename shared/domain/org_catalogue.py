"""What an accounting organisation offers for invoices: tax types, accounts, items, tracking, themes, currencies."""

from __future__ import annotations

from pydantic import Field

from shared.domain.models import DomainModel


class OrgCatalogue(DomainModel):
    """The organisation's active codes, read once per batch (and per process, for a while)."""

    tax_types: frozenset[str] = frozenset()
    account_codes: frozenset[str] = frozenset()
    item_codes: frozenset[str] = frozenset()
    # Active tracking category name -> its active option names.
    tracking: dict[str, frozenset[str]] = Field(default_factory=dict)
    # Branding theme id -> name.
    branding_themes: dict[str, str] = Field(default_factory=dict)
    currencies: frozenset[str] = frozenset()

    def branding_theme_id(self, wanted: str) -> str | None:
        """The id of the theme named or identified by ``wanted`` (ids ignore case, as Xero's do)."""
        for theme_id, name in self.branding_themes.items():
            if theme_id.lower() == wanted.lower() or name == wanted:
                return theme_id
        return None
