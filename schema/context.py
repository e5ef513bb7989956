"""The per-request context: the caller, the unit of work (one session) and the DataLoaders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.types import Info as _Info

from hub.auth.caller import Caller
from hub.ports import KeyProvider
from hub.settings import Settings
from schema.loaders import Loaders


@dataclass
class HubContext:
    """Everything a resolver may use. The session is committed once, by the UnitOfWork extension."""

    caller: Caller
    session: AsyncSession
    settings: Settings
    keys: KeyProvider
    request_id: str
    today: dt.date = field(default_factory=dt.date.today)
    # Subscriptions open their own sessions and listen for committed changes.
    sessions: async_sessionmaker[AsyncSession] | None = None
    listen_url: URL | None = None
    # graphql-transport-ws: the connection_init payload (carries the bearer token).
    connection_params: dict[str, object] | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session, self.caller, self.today)

    def become(self, caller: Caller) -> None:
        """Switch to the caller a WebSocket connection authenticated as."""
        self.caller = caller
        self.loaders = Loaders(self.session, caller, self.today)

    async def authority_domain(self) -> str | None:
        """The calling organisation's authority domain (it selects publicity rules, e.g. SAMR Order 107)."""
        if self.caller.organisation_code is None:
            return None
        organisation = await self.loaders.organisation.load(self.caller.organisation_code)
        return organisation.authority_domain if organisation else None


Info = _Info[HubContext, None]
