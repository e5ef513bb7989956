"""Queries of the access log: who read an entity's data, a read's receipt, the log's public key."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from hub.audit import service
from hub.auth.caller import Role
from hub.disclosure.policy import Item, Subject
from hub.entities.service import checked_uscc
from hub.errors import Forbidden, Invalid
from schema.audit.reads import who
from schema.audit.types import AccessLogConnection, AccessLogEdge, AccessLogEntry, AccessLogKey, AccessReceipt
from schema.context import Info
from schema.cursors import decode, encode
from schema.permissions import ALL_ROLES, ORGANISATIONS, allow
from schema.records.types import PageInfo


def _entry_id(value: str, path: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise Invalid("not an access-log entry id", code="ACCESS_ENTRY_NOT_FOUND", path=path)
    return int(value)


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="Who read the entity's non-public data (查询记录), newest first: an entity its own "
        "list (reads the law lets the hub disclose later appear from their `hiddenUntil`), the credit "
        "office any entity's. 1,000 entries a page by default, 10,000 at most.",
        extensions=allow(Role.ENTITY, Role.CREDIT_OFFICE),
    )
    async def access_log(
        self,
        info: Info,
        uscc: Annotated[
            str | None,
            strawberry.argument(description="USCC (统一社会信用代码); an entity's own by default."),
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 1-10000.")] = service.DEFAULT_PAGE,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> AccessLogConnection:
        caller = info.context.caller
        if uscc is None:
            if caller.role is not Role.ENTITY or caller.organisation_code is None:
                raise Invalid("name the entity", code="INVALID", path="uscc")
            code = caller.organisation_code
        else:
            code = checked_uscc(uscc)
        if caller.role is Role.ENTITY and code != caller.organisation_code:
            raise Forbidden("an entity sees who read its own data only", path="uscc")
        before = _entry_id(decode(after, 1)[0], "after") if after else None
        if not info.context.disclosure.admits(Item.ENTITY, Subject(uscc=code)):
            # Who read an entity's data is that entity's data: a policy that withholds it gives none.
            return AccessLogConnection(edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None))
        page = await service.reads_of(
            info.context.session, who(caller), code, first=first, before=before, today=info.context.today
        )
        edges = [AccessLogEdge(node=AccessLogEntry.of(r), cursor=encode(str(r.id))) for r in page.entries]
        return AccessLogConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(
        description="The receipt of a logged read (查询凭证), by the entry id that `extensions.access` "
        "named: null until the sequencer has integrated the entry and signed a checkpoint over it "
        "(seconds; ask again). The reader, the entity read and the credit office may ask.",
        extensions=allow(*ORGANISATIONS),
    )
    async def access_receipt(
        self,
        info: Info,
        entry: Annotated[strawberry.ID, strawberry.argument(description="The entry's id.")],
    ) -> AccessReceipt | None:
        found = await service.receipt(
            info.context.session, who(info.context.caller), _entry_id(str(entry), "entry"), info.context.today
        )
        if found is None:
            return None
        # The receipt is whole or nothing (a masked entry would no longer match its leaf's hash).
        uscc = str(found.entry.get("uscc") or "")
        return (
            AccessReceipt.of(found)
            if info.context.disclosure.admits(Item.ENTITY, Subject(uscc=uscc))
            else None
        )

    @strawberry.field(
        description="The access log's public key: verify checkpoints and receipts offline with it.",
        extensions=allow(*ALL_ROLES),
    )
    def access_log_key(self, info: Info) -> AccessLogKey:
        settings, keys = info.context.settings, info.context.keys
        return AccessLogKey(
            origin=settings.access_log_origin,
            note_verifier_key=service.note_verifier_key(settings, keys),
            jwks=cast(JSON, {"keys": service.public_jwks(keys)}),
        )
