"""Assemble the GraphQL schema and its hardening."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from hub.settings import Settings
from schema.audit.operations import AuditQueries
from schema.auth.operations import AuthMutations, AuthQueries
from schema.consents.operations import ConsentMutations, ConsentQueries
from schema.cost import coded, cost_rule
from schema.entities.mutations import EntityMutations
from schema.entities.queries import EntityQueries
from schema.errors import answer_expected_failures
from schema.extensions import QueryDocument, UnitOfWork
from schema.grading.operations import GradingMutations, GradingQueries
from schema.grading.subscriptions import GradingSubscriptions
from schema.inspections.operations import InspectionMutations, InspectionQueries
from schema.masking.operations import MaskingMutations, MaskingQueries
from schema.objections.operations import ObjectionMutations, ObjectionQueries
from schema.permissions import assert_every_root_field_guarded
from schema.records.bulk import BulkMutations, BulkQueries
from schema.records.catalog import CatalogMutations, CatalogQueries
from schema.records.mutations import RecordMutations
from schema.records.public import PublicQueries
from schema.records.queries import RecordQueries
from schema.repairs.operations import RepairMutations, RepairQueries
from schema.scoring.operations import ScoringMutations, ScoringQueries
from schema.strings import string_rule


@strawberry.type(description="Read the credit archive, the catalogue and who you are.")
class Query(
    EntityQueries,
    GradingQueries,
    ScoringQueries,
    InspectionQueries,
    CatalogQueries,
    BulkQueries,
    AuthQueries,
    MaskingQueries,
    ConsentQueries,
    ObjectionQueries,
    RepairQueries,
    PublicQueries,
    RecordQueries,
    AuditQueries,
):
    pass


@strawberry.type(description="Live changes, over graphql-transport-ws.")
class Subscription(GradingSubscriptions):
    pass


@strawberry.type(description="Push records; manage organisations, tokens and the calendar.")
class Mutation(
    RecordMutations,
    BulkMutations,
    GradingMutations,
    ScoringMutations,
    InspectionMutations,
    CatalogMutations,
    EntityMutations,
    AuthMutations,
    MaskingMutations,
    ConsentMutations,
    ObjectionMutations,
    RepairMutations,
):
    pass


class HubSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Strawberry would log each error with its traceback; UnitOfWork logs them, without detail."""


def build_schema(settings: Settings) -> strawberry.Schema:
    # The depth and alias limits are validation rules. Their rule classes are built once here and
    # shared by every request: ValidationCache keys on them, so per-request classes would never hit.
    limits = [
        (QueryDepthLimiter(max_depth=settings.max_depth), "MAX_DEPTH"),
        (MaxAliasesLimiter(max_alias_count=settings.max_aliases), "MAX_ALIASES"),
    ]
    rules = [coded(rule, code) for limit, code in limits for rule in limit.validation_rules]
    rules.append(cost_rule(settings.max_cost, settings.max_page_size))
    rules.append(string_rule(settings.max_string_length))
    if not settings.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    # Factories, so each request gets fresh extension instances.
    extensions: list[object] = [
        UnitOfWork,
        lambda: QueryDocument(rules, settings.max_tokens, settings.max_string_length),
    ]
    answer_expected_failures(Query, Mutation)
    schema = HubSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,  # type: ignore[arg-type]
        config=StrawberryConfig(disable_field_suggestions=True),
    )
    assert_every_root_field_guarded(schema)
    return schema
