"""Sibling resolvers of one request share one session: they take turns instead of failing."""

from __future__ import annotations

from tests.conftest import company_code, gql


async def test_many_root_fields_that_each_query_the_database(client, actors):
    fields = " ".join(
        f'e{i}: entity(uscc: "{company_code(900 + i)}") {{ uscc }} s{i}: searchEntities(name: "公司{i}") {{ totalCount }}'
        for i in range(5)
    )
    answer = await gql(
        client,
        f"{{ {fields} gradingSchemes {{ code }} supervisionDomains {{ code }} me {{ role }} }}",
        actor=actors["bank"],
    )
    assert "errors" not in answer, answer
    assert len(answer["data"]["gradingSchemes"]) >= 8 and answer["data"]["me"] == {"role": "BANK"}
