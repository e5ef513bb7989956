"""Queries on the registry: one archive, or a search."""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.disclosure.policy import Item, Subject
from hub.entities import service
from schema.context import Info
from schema.cursors import decode, encode, page_size
from schema.entities.types import Entity, EntityConnection, EntityEdge
from schema.permissions import ALL_ROLES, allow
from schema.records.types import PageInfo


@strawberry.type
class EntityQueries:
    @strawberry.field(
        description="The credit archive of one entity by its USCC (按统一社会信用代码查询); null when unknown. "
        "A malformed code is an error that says what is wrong with it.",
        extensions=allow(*ALL_ROLES),
    )
    async def entity(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="USCC (统一社会信用代码), 18 characters.")],
    ) -> Entity | None:
        code = service.checked_uscc(uscc)
        row = await info.context.loaders.entity.load(code)
        if row is None or not info.context.disclosure.admits(Item.ENTITY, Subject(uscc=row.uscc)):
            return None
        await info.context.disclosure.prepare(info.context.session)  # the masking policy in force
        return Entity(row=row)

    @strawberry.field(
        description="Search entities by name fragment (名称), district prefix (行政区划) and kind; paginated.",
        extensions=allow(*ALL_ROLES),
    )
    async def search_entities(
        self,
        info: Info,
        name: Annotated[
            str | None, strawberry.argument(description="Name fragment (名称), 2+ characters.")
        ] = None,
        district: Annotated[
            str | None, strawberry.argument(description="Division code prefix (行政区划), 2-6 digits.")
        ] = None,
        kind: Annotated[str | None, strawberry.argument(description="Entity kind, e.g. enterprise.")] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 1-100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> EntityConnection:
        size = page_size(first, info.context.settings.max_page_size)
        start = decode(after, 1)[0] if after else None
        page = await service.search(
            info.context.session, name=name, district=district, kind=kind, after=start, first=size
        )
        gate = info.context.disclosure
        if page.entities:
            await gate.prepare(info.context.session)  # the masking policy in force
        edges = [
            EntityEdge(node=Entity(row=e), cursor=encode(e.uscc))
            for e in page.entities
            if gate.admits(Item.ENTITY, Subject(uscc=e.uscc))
        ]
        return EntityConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
            total_count=page.total,
        )
