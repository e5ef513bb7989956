"""Reading the registry: one entity, or a search by name fragment, district and type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.entities import repository as repo
from hub.entities.codes import normalise, uscc_problem
from hub.entities.repository import EntityRow as EntityRow  # re-exported: schema/ names the row type
from hub.errors import Invalid
from hub.models import Entity


def checked_uscc(code: str, path: str = "uscc") -> str:
    """The normalised code, or Invalid saying exactly what is wrong with it.

    A lookup is no new input: a code whose only fault is its embedded GB 11714 check (some in
    circulation have one, and a bulk import of history may store them) must still find its archive.
    """
    normalised = normalise(code)
    problem = uscc_problem(normalised, check_org_code=False)
    if problem is not None:
        raise Invalid(problem.message, code=problem.code, path=path)
    return normalised


async def get_many(session: AsyncSession, usccs: Sequence[str]) -> list[EntityRow | None]:
    """Entities in the order asked, None where a code is not registered."""
    found = {e.uscc: e for e in await repo.get_many(session, usccs)}
    return [found.get(u) for u in usccs]


@dataclass(frozen=True, slots=True)
class EntityPage:
    entities: list[Entity]
    total: int
    has_next: bool


async def search(
    session: AsyncSession,
    *,
    name: str | None,
    district: str | None,
    kind: str | None,
    after: str | None,
    first: int,
) -> EntityPage:
    for path, value in (("name", name), ("district", district), ("kind", kind)):
        if value is not None and not value.isprintable():
            raise Invalid(f"{path} holds control characters", code="NOT_PRINTABLE", path=path)
    if name is not None and len(name.strip()) < 2:
        raise Invalid("a name fragment needs at least 2 characters", code="TOO_SHORT", path="name")
    # ASCII digits only: str.isdigit() also admits full-width and other scripts' digits.
    if district is not None and not (district.isascii() and district.isdigit() and 2 <= len(district) <= 6):
        raise Invalid(
            "district is 2 to 6 digits of the division code", code="NOT_A_DISTRICT", path="district"
        )
    rows, total = await repo.search(
        session,
        name=name.strip() if name else None,
        district=district,
        kind=kind,
        after=after,
        limit=first + 1,
    )
    return EntityPage(entities=rows[:first], total=total, has_next=len(rows) > first)
