"""Xero's identity endpoints on the simulator, delegated to the organisation's ``Identity``."""

from __future__ import annotations

from aiohttp import web

from simulators.xero.state import XeroStore

__all__ = ["IdentityRoutes"]


class IdentityRoutes(XeroStore):
    """Delegating handlers: ``reset_state`` replaces the Identity object, so routes cannot bind its methods."""

    async def identity_token(self, request: web.Request) -> web.Response:
        return await self.identity.token(request)

    async def identity_authorize(self, request: web.Request) -> web.Response:
        return await self.identity.authorize(request)

    async def identity_revocation(self, request: web.Request) -> web.Response:
        return await self.identity.revocation(request)

    async def identity_connections(self, request: web.Request) -> web.Response:
        return await self.identity.list_connections(request)

    async def identity_admin_revoke(self, request: web.Request) -> web.Response:
        return await self.identity.admin_revoke(request)
