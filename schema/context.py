"""The per-request context: the caller, the unit of work (one session) and the DataLoaders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
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
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session, self.caller, self.today)

    async def authority_domain(self) -> str | None:
        """The calling organisation's authority domain (it selects publicity rules, e.g. SAMR Order 107)."""
        if self.caller.organisation_code is None:
            return None
        organisation = await self.loaders.organisation.load(self.caller.organisation_code)
        return organisation.authority_domain if organisation else None


Info = _Info[HubContext, None]
