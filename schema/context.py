"""The per-request context: the caller, the unit of work (one session) and the DataLoaders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.types import Info as _Info

from hub.auth.caller import Caller
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import ROLE_POLICY, DisclosurePolicy
from hub.metrics import Metrics, Observation
from hub.ports import KeyProvider
from hub.settings import Settings
from schema.loaders import Loaders


@dataclass
class HubContext:
    """Everything a resolver may use. The session is committed once, by the UnitOfWork extension;
    entity data leaves through `disclosure`, the request's gate."""

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
    # What may leave, and to whom: the gate below asks it (tests install one that withholds all).
    disclosure_policy: DisclosurePolicy = ROLE_POLICY
    # The app's metrics, and this HTTP request's labels (which the UnitOfWork extension fills in).
    metrics: Metrics | None = None
    observation: Observation | None = None
    disclosure: Disclosure = field(init=False)
    # What `extensions.access` names: the access-log entries this request wrote (schema.audit.reads).
    access_entries: list[dict[str, Any]] = field(default_factory=list)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.become(self.caller)

    def become(self, caller: Caller) -> None:
        """Set (or switch to, for a WebSocket connection once authenticated) the caller: its gate and loaders."""
        self.caller = caller
        self.disclosure = Disclosure(caller, self.disclosure_policy, keys=self.keys)
        self.loaders = Loaders(self.session, self.disclosure, self.today, self.keys)

    async def authority_domain(self) -> str | None:
        """The calling organisation's authority domain (it selects publicity rules, e.g. SAMR Order 107)."""
        if self.caller.organisation_code is None:
            return None
        organisation = await self.loaders.organisation.load(self.caller.organisation_code)
        return organisation.authority_domain if organisation else None


Info = _Info[HubContext, None]
