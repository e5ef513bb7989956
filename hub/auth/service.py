"""Organisations and bearer tokens: issue, revoke, authenticate."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import record as audit
from hub.auth import repository
from hub.auth.caller import Caller, Role
from hub.entities.codes import normalise, uscc_problem
from hub.errors import Conflict, Invalid, NotFound, Unauthenticated
from hub.models import ApiToken, Organisation

TOKEN_PREFIX = "chub_"  # noqa: S105  (a public prefix, not a secret)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """The secret is shown once, at issue; the hub keeps only its hash."""

    token: ApiToken
    secret: str

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"IssuedToken(id={self.token.id}, organisation={self.token.organisation_code})"


def hash_secret(secret: str) -> bytes:
    # Secrets are 256 random bits, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).digest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def list_organisations(session: AsyncSession, role: str | None) -> list[Organisation]:
    return await repository.list_organisations(session, role)


async def register_organisation(
    session: AsyncSession,
    code: str,
    name: str,
    role: Role,
    authority_domain: str | None = None,
    *,
    by: str = "cli",
) -> Organisation:
    code = normalise(code)
    problem = uscc_problem(code)
    if problem is not None:
        raise Invalid(f"organisation code: {problem.message}", code=problem.code, path="code")
    if not name.strip():
        raise Invalid("organisation name must not be empty", code="REQUIRED", path="name")
    if role is Role.PUBLIC:
        raise Invalid("the public role needs no organisation", code="ROLE_NOT_ISSUABLE", path="role")
    if await repository.get_organisation(session, code) is not None:
        raise Conflict(f"organisation {code} is already registered", code="ALREADY_EXISTS", path="code")
    organisation = await repository.add_organisation(
        session, code, name.strip(), role.value, authority_domain
    )
    await audit.record_admin_change(
        session, audit.Who.of_label(by), "organisation.registered", subject=f"{code} as {role.value}"
    )
    return organisation


async def issue_token(
    session: AsyncSession, organisation_code: str, label: str, days: int, by: str
) -> IssuedToken:
    if not 1 <= days <= 366:
        raise Invalid("a token lives 1 to 366 days", code="OUT_OF_RANGE", path="days")
    organisation = await repository.get_organisation(session, normalise(organisation_code))
    if organisation is None:
        raise NotFound(f"no organisation {organisation_code}", path="organisationCode")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = await repository.add_token(
        session,
        organisation.code,
        hash_secret(secret),
        label.strip() or "token",
        _now() + dt.timedelta(days=days),
        by,
    )
    await audit.record_admin_change(
        session, audit.Who.of_label(by), "token.issued", subject=f"token {token.id} for {organisation.code}"
    )
    return IssuedToken(token=token, secret=secret)


async def revoke_token(session: AsyncSession, token_id: int, *, by: str = "cli") -> ApiToken:
    if not await repository.revoke_token(session, token_id, _now()):
        token = await repository.get_token(session, token_id)
        if token is None:
            raise NotFound(f"no token {token_id}", path="tokenId")
        raise Conflict(f"token {token_id} was already revoked", code="ALREADY_REVOKED", path="tokenId")
    token = await repository.get_token(session, token_id)
    assert token is not None
    await audit.record_admin_change(
        session,
        audit.Who.of_label(by),
        "token.revoked",
        subject=f"token {token_id} of {token.organisation_code}",
    )
    return token


async def authenticate(session: AsyncSession, secret: str) -> Caller:
    """The caller a bearer secret stands for; Unauthenticated when unknown, expired or revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthenticated("the bearer token is not a Credit Hub token", code="TOKEN_INVALID")
    token = await repository.find_token(session, hash_secret(secret))
    if token is None:
        raise Unauthenticated("the bearer token is not known", code="TOKEN_INVALID")
    if token.revoked_at is not None:
        raise Unauthenticated("the bearer token was revoked", code="TOKEN_REVOKED")
    if token.expires_at <= _now():
        raise Unauthenticated("the bearer token has expired", code="TOKEN_EXPIRED")
    return Caller(
        role=Role(token.role), organisation_code=token.code, organisation_name=token.name, token_id=token.id
    )


async def organisations(session: AsyncSession, codes: Sequence[str]) -> list[Organisation | None]:
    found = {o.code: o for o in await repository.get_organisations(session, codes)}
    return [found.get(c) for c in codes]
