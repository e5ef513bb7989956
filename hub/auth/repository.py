"""SQL for organisations and tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import ApiToken, Organisation


async def get_organisation(session: AsyncSession, code: str) -> Organisation | None:
    return await session.get(Organisation, code)


async def list_organisations(session: AsyncSession, role: str | None) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.code)
    if role is not None:
        query = query.where(Organisation.role == role)
    return list((await session.scalars(query)).all())


async def add_organisation(
    session: AsyncSession, code: str, name: str, role: str, authority_domain: str | None
) -> Organisation:
    organisation = Organisation(code=code, name=name, role=role, authority_domain=authority_domain)
    session.add(organisation)
    await session.flush()
    return organisation


async def add_token(
    session: AsyncSession,
    organisation_code: str,
    secret_hash: bytes,
    label: str,
    expires_at: dt.datetime,
    by: str,
) -> ApiToken:
    token = ApiToken(
        organisation_code=organisation_code,
        secret_hash=secret_hash,
        label=label,
        expires_at=expires_at,
        created_by=by,
    )
    session.add(token)
    await session.flush()
    return token


class TokenRow(Protocol):
    """What authenticating a bearer token reads: the token's state and its organisation."""

    id: int
    revoked_at: dt.datetime | None
    expires_at: dt.datetime
    code: str
    name: str
    role: str


# Plain text, columns only: this runs on every authenticated request, so no query is built and no
# ORM object is loaded for it.
_FIND_TOKEN = text(
    "SELECT t.id, t.revoked_at, t.expires_at, o.code, o.name, o.role FROM api_tokens t "
    "JOIN organisations o ON o.code = t.organisation_code WHERE t.secret_hash = :secret_hash"
)


async def find_token(session: AsyncSession, secret_hash: bytes) -> TokenRow | None:
    row: TokenRow | None = (await session.execute(_FIND_TOKEN, {"secret_hash": secret_hash})).first()
    return row


async def revoke_token(session: AsyncSession, token_id: int, at: dt.datetime) -> bool:
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(ApiToken.id)
    )
    return result.first() is not None


async def get_token(session: AsyncSession, token_id: int) -> ApiToken | None:
    return await session.get(ApiToken, token_id)


async def get_organisations(session: AsyncSession, codes: Sequence[str]) -> list[Organisation]:
    if not codes:
        return []
    return list((await session.scalars(select(Organisation).where(Organisation.code.in_(list(codes))))).all())
