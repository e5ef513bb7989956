"""Queries on records across archives: the exact-match look-up by ID number."""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.auth.caller import Role
from hub.records.archive import service
from schema.context import Info
from schema.cursors import page_size
from schema.permissions import allow
from schema.records.types import Record


@strawberry.type
class RecordQueries:
    @strawberry.field(
        description="Current records that name an ID number (证件号码) in a personal field: a natural person's "
        "own, a legal representative's (法定代表人证件号码), an individual business's operator's; newest "
        "first. Found through a keyed blind index of the number (the hub stores ID numbers encrypted), "
        "for the credit office. A malformed number is an error that says what is wrong.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def records_by_id_number(
        self,
        info: Info,
        id_number: Annotated[
            str,
            strawberry.argument(description="The ID number (证件号码), as pushed; case and blanks aside."),
        ],
        first: Annotated[int, strawberry.argument(description="At most this many records, 1-100.")] = 20,
    ) -> list[Record]:
        context = info.context
        views = await service.records_by_id_number(
            context.session,
            context.disclosure,
            context.keys,
            id_number,
            index_bits=context.settings.blind_index_bits,
            limit=page_size(first, context.settings.max_page_size),
            today=context.today,
        )
        return [Record.of(view) for view in views]
