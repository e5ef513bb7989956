"""Schemes (credit office), domain ownership, measures and members (departments), all versioned."""

from __future__ import annotations

from tests.conftest import company_code, gql
from tests.grading.evaluations import DOMAIN, assign, supervision

MEMBERS = """mutation($d: String!, $u: [String!]!) { addDomainMembers(domain: $d, usccs: $u) {
  __typename ... on Reclassified { domain population changed } ... on Problem { code message path } } }"""
AMEND = """mutation($d: String!, $c: CreditCategory!, $m: JSON!) { amendMeasures(domain: $d, category: $c, measures: $m) {
  __typename ... on Domain { version measures { category measures { samplingRatioMin samplingRatioMax } } }
  ... on Problem { code message path } } }"""
SCHEME = """mutation($s: JSON!) { saveGradingScheme(scheme: $s) {
  __typename ... on Scheme { code version levels { code category } } ... on Problem { code message path } } }"""
MEASURES = {
    "sampling_ratio_min": "0.1",
    "sampling_ratio_max": "0.3",
    "yearly_frequency_min": "1",
    "yearly_frequency_max": "2",
    "inspection_mode": "on_site",
    "may_exclude": False,
    "always_inspect": False,
    "incentives": [],
    "restrictions": ["key_attention_target"],
    "notes": "raised for 2027",
}


async def test_members_are_classified_with_the_default_and_only_by_their_department(
    client, actors, connection
):
    await assign(client, actors["credit_office"], actors["department"])
    usccs = [company_code(701), company_code(702)]
    answer = await gql(client, MEMBERS, {"d": DOMAIN, "u": usccs}, actors["department"])
    assert answer["data"]["addDomainMembers"] == {
        "__typename": "Reclassified",
        "domain": DOMAIN,
        "population": 2,
        "changed": 2,
    }
    again = await gql(client, MEMBERS, {"d": DOMAIN, "u": usccs}, actors["department"])
    assert again["data"]["addDomainMembers"]["changed"] == 0
    refused = await gql(client, MEMBERS, {"d": DOMAIN, "u": usccs}, actors["department2"])
    assert refused["data"]["addDomainMembers"]["code"] == "NOT_YOUR_DOMAIN"
    bad = await gql(
        client, MEMBERS, {"d": DOMAIN, "u": [usccs[0], "91230102MA0000000X"]}, actors["department"]
    )
    assert (bad["data"]["addDomainMembers"]["code"], bad["data"]["addDomainMembers"]["path"]) == (
        "USCC_CHECK",
        "usccs.1",
    )


async def test_a_department_amends_measures_of_its_own_domain_only(client, actors):
    await assign(client, actors["credit_office"], actors["department"])
    listed = await gql(
        client,
        "{ supervisionDomains { code measures { category measures { samplingRatioMin samplingRatioMax } } } }",
    )
    before = next(d for d in listed["data"]["supervisionDomains"] if d["code"] == DOMAIN)["measures"]
    answer = await gql(client, AMEND, {"d": DOMAIN, "c": "MINOR", "m": MEASURES}, actors["department"])
    domain = answer["data"]["amendMeasures"]
    assert domain["__typename"] == "Domain" and domain["version"] == 2, answer
    minor = next(m for m in domain["measures"] if m["category"] == "MINOR")["measures"]
    assert (minor["samplingRatioMin"], minor["samplingRatioMax"]) == ("0.1", "0.3")
    # The other categories keep their measures, and look-ups use the amended version.
    assert [m for m in domain["measures"] if m["category"] != "MINOR"] == [
        m for m in before if m["category"] != "MINOR"
    ]
    found = await supervision(client, actors["bank"], company_code(703))
    assert found["category"] == "TRUSTWORTHY"

    refused = await gql(client, AMEND, {"d": DOMAIN, "c": "MINOR", "m": MEASURES}, actors["department2"])
    assert refused["data"]["amendMeasures"]["code"] == "NOT_YOUR_DOMAIN"
    broken = {**MEASURES, "sampling_ratio_min": "0.5", "sampling_ratio_max": "0.2"}
    invalid = await gql(client, AMEND, {"d": DOMAIN, "c": "MINOR", "m": broken}, actors["department"])
    assert invalid["data"]["amendMeasures"]["code"] == "MEASURES_INVALID"
    not_object = await gql(client, AMEND, {"d": DOMAIN, "c": "MINOR", "m": [1]}, actors["department"])
    assert not_object["data"]["amendMeasures"]["code"] == "NOT_AN_OBJECT"


async def test_the_credit_office_adds_and_versions_schemes(client, actors):
    scheme = {
        "code": "harbin_catering",
        "title": "Harbin catering",
        "title_zh": "哈尔滨餐饮信用",
        "issuer": "市信用办",
        "valid_from": None,
        "valid_to": None,
        "levels": [
            {
                "code": "A",
                "label_zh": "A级",
                "category": "trustworthy",
                "min_score": "80",
                "max_score": None,
                "description": "good",
            },
            {
                "code": "B",
                "label_zh": "B级",
                "category": "general",
                "min_score": "0",
                "max_score": "80",
                "description": "weak",
            },
        ],
    }
    answer = await gql(client, SCHEME, {"s": scheme}, actors["credit_office"])
    assert answer["data"]["saveGradingScheme"] == {
        "__typename": "Scheme",
        "code": "harbin_catering",
        "version": 1,
        "levels": [{"code": "A", "category": "TRUSTWORTHY"}, {"code": "B", "category": "GENERAL"}],
    }
    amended = {**scheme, "title": "Harbin catering (2027)"}
    again = await gql(client, SCHEME, {"s": amended}, actors["credit_office"])
    assert again["data"]["saveGradingScheme"]["version"] == 2
    dropped = {**scheme, "levels": [{**scheme["levels"][0], "min_score": "0"}]}
    refused = await gql(client, SCHEME, {"s": dropped}, actors["credit_office"])
    assert (refused["data"]["saveGradingScheme"]["code"], refused["data"]["saveGradingScheme"]["path"]) == (
        "LEVEL_REMOVED",
        "scheme.levels",
    )
    broken = await gql(client, SCHEME, {"s": {**scheme, "levels": []}}, actors["credit_office"])
    assert broken["data"]["saveGradingScheme"]["code"] == "SCHEME_INVALID"
    forbidden = await gql(client, SCHEME, {"s": scheme}, actors["department"])
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_domains_and_schemes_are_readable_by_everyone(client):
    answer = await gql(client, "{ supervisionDomains { code scheme departmentZh } gradingSchemes { code } }")
    domains = {d["code"]: d for d in answer["data"]["supervisionDomains"]}
    assert len(domains) == 68 and domains[DOMAIN]["scheme"] == "samr_risk"
    assert {"heilongjiang", "samr_risk", "tax_credit", "customs"} <= {
        s["code"] for s in answer["data"]["gradingSchemes"]
    }
