"""Deny by default: every root field names the roles it admits, or nobody may call it.

`allow(...)` is the only way to grant access. `assert_every_root_field_guarded` runs when the
schema is built, so an operation added without a rule fails at start-up and in the test sweep.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.file_uploads import Upload
from strawberry.permission import BasePermission, PermissionExtension

from hub.auth.caller import Role


class RoleRule(BasePermission):
    """Admits the listed roles; the error names the rule, not the caller's details."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles
        self.error_extensions = {"code": "FORBIDDEN"}
        self.message = "this operation is not permitted for your role"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return bool(info.context.caller.role in self.roles)


def allow(*roles: Role) -> list[FieldExtension]:
    """Field extensions admitting exactly `roles`."""
    return [PermissionExtension(permissions=[RoleRule(frozenset(roles))], use_directives=False)]


ALL_ROLES = tuple(Role)
ORGANISATIONS = tuple(r for r in Role if r is not Role.PUBLIC)
# Who may call the push operations at all; each record type then names its own pushers
# (departments their records, the province public evaluations and list entries, third parties
# market evaluations) and the source code must be the caller's own.
PUSHING_ROLES = (Role.DEPARTMENT, Role.PROVINCE, Role.ASSOCIATION, Role.CREDIT_OFFICE)


def rule_of(field: Any) -> frozenset[Role] | None:
    for extension in getattr(field, "extensions", []):
        if isinstance(extension, PermissionExtension):
            for permission in extension.permissions:
                if isinstance(permission, RoleRule):
                    return permission.roles
    return None


def assert_every_root_field_guarded(schema: strawberry.Schema) -> None:
    missing: list[str] = []
    for root in (schema.query, schema.mutation, schema.subscription):
        if root is None:
            continue
        definition = getattr(root, "__strawberry_definition__")  # noqa: B009  (mypy cannot see it)
        missing.extend(f"{definition.name}.{f.name}" for f in definition.fields if rule_of(f) is None)
    if missing:
        raise RuntimeError(f"operations without an access rule (denied to everyone): {', '.join(missing)}")


def uploading_roles(schema: strawberry.Schema) -> frozenset[Role]:
    """The roles admitted by some mutation that takes a file: only they get the upload allowance of
    the request body at the edge (any other caller's multipart body is held to the JSON limit)."""
    if schema.mutation is None:
        return frozenset()
    definition = getattr(schema.mutation, "__strawberry_definition__")  # noqa: B009
    roles: set[Role] = set()
    for field in definition.fields:
        if any(_named(argument.type) is Upload for argument in field.arguments):
            roles |= rule_of(field) or frozenset()
    return frozenset(roles)


def _named(annotation: Any) -> Any:
    """The type inside Optional and list wrappers (`Upload | None`, `list[Upload]`)."""
    while hasattr(annotation, "of_type"):
        annotation = annotation.of_type
    return annotation
