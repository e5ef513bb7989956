"""The masking policy (脱敏策略), as the API shows it and the credit office amends it."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from hub.auth.caller import Role
from hub.catalog import amendments as catalog_admin
from hub.catalog import policy as policy_service
from hub.catalog.masking_policies import MaskingPolicy as MaskingPolicyDocument
from schema.context import Info
from schema.errors import InvalidInput, json_object
from schema.permissions import ALL_ROLES, allow


@strawberry.type(description="A stored version of the masking policy (脱敏策略).")
class MaskingPolicy:
    document: strawberry.Private[MaskingPolicyDocument]
    version: int = strawberry.field(description="Version of the policy in the catalogue (策略版本).")

    @strawberry.field(
        description="The policy, in the layout of hub/catalog/masking_policy.yaml: named rules (脱敏规则), "
        "field classes, the ordered decisions (shown, masked by a rule, withheld) and the free-text scan."
    )
    def policy(self) -> JSON:
        return cast(JSON, self.document.to_mapping())


AmendMaskingPolicyResult = Annotated[
    MaskingPolicy | InvalidInput,
    strawberry.union(
        "AmendMaskingPolicyResult",
        description="The stored version, or why it was refused (the path names the field).",
    ),
]


@strawberry.type
class MaskingQueries:
    @strawberry.field(
        description="The masking policy in force (脱敏策略): what third parties see of each field, by role "
        "and authorisation tier. Policy documents are public.",
        extensions=allow(*ALL_ROLES),
    )
    async def masking_policy(self, info: Info) -> MaskingPolicy:
        document, version = await policy_service.masking_policy(info.context.session)
        return MaskingPolicy(document=document, version=version)


@strawberry.type
class MaskingMutations:
    @strawberry.mutation(
        description="Amend the masking policy (credit office); stored as a new version and applied from the "
        "next request on. A broken policy is refused with MASKING_POLICY_INVALID and the field's path.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def amend_masking_policy(
        self,
        info: Info,
        policy: Annotated[
            JSON,
            strawberry.argument(
                description="The whole policy, in the layout of hub/catalog/masking_policy.yaml."
            ),
        ],
    ) -> AmendMaskingPolicyResult:
        document, version = await catalog_admin.save_masking_policy(
            info.context.session, json_object(policy, "policy"), info.context.caller.label
        )
        return MaskingPolicy(document=document, version=version)
