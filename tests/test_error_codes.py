"""One registry of error codes, held against the source and the README; errors mapped in one place.

The source scans read hub/, schema/ and adapters/ with ast: a code the hub can answer but the
registry (hub/error_codes.py) does not name, or a README row the registry does not hold, fails here.
The union check follows each root resolver's calls through hub/ and fails when a resolver can raise
a kind of failure its result union has no member for.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
import pytest
import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.auth.caller import PUBLIC, Caller
from hub.catalog.record_types import load_bundled
from hub.disclosure.gate import Disclosure
from hub.error_codes import CODES
from hub.errors import Conflict, Forbidden, HubError, Invalid, NotFound, Unauthenticated
from schema.build import Mutation, Query, build_schema
from schema.errors import (
    MEMBER_OF_KIND,
    ExpectedFailures,
    InvalidInput,
    NotFoundProblem,
    answer_expected_failures,
    problem_members,
)
from tests.conftest import company_code, gql
from tests.records.builders import valid_record
from tests.records.test_bulk_smoke import csv_file, upload

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("hub", "schema", "adapters")
SHOUTY = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
# Constructors whose first positional argument is a code, and helpers whose second is.
CODE_FIRST = {"FieldError", "ModelError", "CodeProblem"}
CODE_SECOND = {"problem"}
# SQL that builds a problem as JSON: 'code', 'X' or 'code', CASE … THEN 'X' ELSE 'Y' END.
SQL_CODE = re.compile(r"'code',\s*(CASE\b.*?\bEND|'[A-Z0-9_]+')", re.DOTALL)
SQL_LITERAL = re.compile(r"'([A-Z][A-Z0-9_]+)'")

# Upper-case literals that are not error codes (kept by hand: each says what it is).
NOT_CODES = {
    "ABSENT": "the sentinel for a field not given (hub/records/validation/field_check.py)",
    "A0000001": "serial of the demo association's USCC",
    "B0000001": "serial of the demo bank's USCC",
    "CASCADE": "SQL: ondelete of a foreign key",
    "OKP": "JWK key type of an Ed25519 key (RFC 8037; hub/crypto.py)",
    "DELETE": "SQL: a table privilege the server role may be given (hub/migrate.py)",
    "INSERT": "SQL: a table privilege the server role may be given (hub/migrate.py)",
    "GET": "HTTP method of the download routes",
    "POST": "HTTP method (the Allow header of a 405)",
    "INFO": "log level",
    "JSON": "name of the GraphQL scalar for JSON values (schema/strings.py)",
    "MATERIALIZED": "SQL: a materialised CTE",
    "RECORD_ID": "column of a bulk file naming the record id",
    "SELECT": "SQL: a table privilege the server role may be given (hub/migrate.py)",
    "UPDATE": "SQL: a table privilege the server role may be given (hub/migrate.py)",
    "USCC": "column of an indicator file naming the entity",
}

# (field, kind): why the call graph reaches a raise that cannot happen for this field.
UNREACHABLE = {
    ("push_records", "NotFound"): "reclassify_after_evaluations only re-classifies domains that exist",
    ("push_records_file", "NotFound"): "reclassify_after_evaluations only re-classifies domains that exist",
}


@dataclass(frozen=True)
class Found:
    code: str
    where: str
    form: str


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def code_literals() -> list[Found]:
    """Every literal the source uses as a code: wherever a code goes, whatever carries it."""
    found: list[Found] = []
    for where, tree in _modules():

        def add(code: str | None, node: ast.AST, form: str, where: str = where) -> None:
            if code is not None:
                found.append(Found(code, f"{where}:{getattr(node, 'lineno', '?')}", form))

        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "code":
                add(_string(node.value), node.value, "code=")
            elif isinstance(node, ast.Call):
                name = _name(node.func)
                if name in CODE_FIRST and node.args:
                    add(_string(node.args[0]), node, name)
                if name in CODE_SECOND and len(node.args) > 1:
                    add(_string(node.args[1]), node, name)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if key is not None and _string(key) == "code":
                        add(_string(value), node, '{"code": …}')
            elif isinstance(node, ast.Assign) and any(_name(t) == "default_code" for t in node.targets):
                add(_string(node.value), node, "default_code")
            elif isinstance(node, ast.Compare) and _name(node.left) == "code":
                for other in node.comparators:
                    add(_string(other), node, "code ==")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "'code'" in node.value:
                for carried in SQL_CODE.findall(node.value):
                    for code in SQL_LITERAL.findall(carried):
                        add(code, node, "SQL")
    return found


def shouty_literals() -> list[Found]:
    """Every whole upper-case string literal (docstrings, f-string parts and __all__ aside)."""
    found: list[Found] = []
    for where, tree in _modules():
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                skip.add(id(node.value))
            elif isinstance(node, ast.JoinedStr):
                skip.update(id(v) for v in node.values)
            elif isinstance(node, ast.Assign) and any(_name(t) == "__all__" for t in node.targets):
                skip.update(id(n) for n in ast.walk(node.value))
        for node in ast.walk(tree):
            value = _string(node) if isinstance(node, ast.Constant) else None
            if value is not None and id(node) not in skip and len(value) >= 3 and SHOUTY.match(value):
                found.append(Found(value, f"{where}:{node.lineno}", "literal"))
    return found


def field_names() -> set[str]:
    return {f.name for record_type in load_bundled().values() for f in record_type.fields}


def readme_codes() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = text[text.index("| code | meaning |") :].splitlines()[2:]
    codes: set[str] = set()
    for row in rows:
        if not row.startswith("|"):
            break
        codes.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1]))
    return codes


def test_every_code_the_source_uses_is_registered() -> None:
    unregistered = sorted({f"{f.code} ({f.form}, {f.where})" for f in code_literals() if f.code not in CODES})
    assert unregistered == [], "add these to hub/error_codes.py (and the README's table)"


def test_the_scan_sees_each_form_a_code_takes() -> None:
    # One known code per form, from the source as it is: a form the scan stops seeing fails here.
    expected = {
        ("BAD_CURSOR", "code="),
        ("NOT_A_DATE", "FieldError"),
        ("PERIOD_INVALID", "ModelError"),
        ("USCC_CHECK", "CodeProblem"),
        ("TOKEN_INVALID", "problem"),
        ("GRAPHQL_PARSE_FAILED", '{"code": …}'),
        ("FORBIDDEN", '{"code": …}'),
        ("NOT_FOUND", "default_code"),
        ("USCC_ORG_CODE_CHECK", "code =="),
        ("DUPLICATE_IN_FILE", "SQL"),
        ("MISSING_INDICATOR", "SQL"),
    }
    seen = {(f.code, f.form) for f in code_literals()}
    assert expected - seen == set()


def test_every_upper_case_literal_is_a_code_a_field_or_named_here() -> None:
    # The net behind the scan: a code built some other way (a tuple, a return value) is caught here.
    known = set(CODES) | field_names() | set(NOT_CODES)
    strays = sorted({f"{f.code} ({f.where})" for f in shouty_literals() if f.code not in known})
    assert strays == [], "register the code, or name the literal in NOT_CODES with what it is"


def test_every_registered_code_is_one_the_hub_answers() -> None:
    used = {f.code for f in code_literals()} | {f.code for f in shouty_literals()}
    assert sorted(set(CODES) - used) == []
    assert set(NOT_CODES).isdisjoint(CODES)


def test_each_meaning_is_one_line() -> None:
    assert all(SHOUTY.match(code) for code in CODES)
    assert [c for c, meaning in CODES.items() if not meaning.strip() or "\n" in meaning] == []


def test_the_readme_table_lists_exactly_the_registry() -> None:
    listed = readme_codes()
    assert sorted(set(CODES) - listed) == [], "codes missing from the README's table"
    assert sorted(listed - set(CODES)) == [], "README codes the registry does not know"


def test_a_hub_error_refuses_a_code_the_registry_does_not_know() -> None:
    with pytest.raises(ValueError, match="NO_SUCH_CODE"):
        Invalid("x", code="NO_SUCH_CODE")
    with pytest.raises(TypeError, match="NO_SUCH_KIND"):
        type("Strange", (HubError,), {"default_code": "NO_SUCH_KIND"})
    with pytest.raises(TypeError):
        type("Bare", (HubError,), {})
    error = Forbidden("not yours", code="NOT_YOUR_DOMAIN", path="domain")
    assert (error.code, error.message, error.path) == ("NOT_YOUR_DOMAIN", "not yours", "domain")
    assert (NotFound("x").code, Conflict("x").code, Invalid("x").code) == ("NOT_FOUND", "CONFLICT", "INVALID")


# --- what each resolver can answer ---------------------------------------------------------------

KINDS = {
    f"hub.errors.{k.__name__}": k.__name__ for k in (Invalid, Forbidden, NotFound, Conflict, Unauthenticated)
}


class CallGraph:
    """Module-level functions, classes and methods of hub/ and schema/, and the calls between them.

    A lower bound: calls on instances cannot be followed, so a kind found is a kind the resolver can
    raise (short of the UNREACHABLE cases), not every kind it can raise.
    """

    def __init__(self) -> None:
        self.imports: dict[str, dict[str, str]] = {}
        self.defs: dict[str, ast.AST] = {}
        self.classes: set[str] = set()
        for package in ("hub", "schema"):
            for path in sorted((ROOT / package).rglob("*.py")):
                parts = list(path.relative_to(ROOT).with_suffix("").parts)
                module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                tree = ast.parse(path.read_text(encoding="utf-8"))
                names: dict[str, str] = {}
                for node in tree.body:
                    if isinstance(node, ast.Import):
                        for alias in node.names:
                            names[alias.asname or alias.name] = alias.name
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        for alias in node.names:
                            names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                        self.defs[f"{module}.{node.name}"] = node
                    elif isinstance(node, ast.ClassDef):
                        self.classes.add(f"{module}.{node.name}")
                        for item in node.body:
                            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                                self.defs[f"{module}.{node.name}.{item.name}"] = item
                self.imports[module] = names

    def _known(self, target: str) -> bool:
        return target in self.defs or target in self.classes or target in self.imports or target in KINDS

    def canonical(self, target: str) -> str:
        """Follow re-exports (a package's __init__ importing a name from elsewhere)."""
        for _ in range(10):
            if self._known(target):
                return target
            head, _, tail = target.rpartition(".")
            if head in self.imports and tail in self.imports[head]:
                target = self.imports[head][tail]
            elif head and not self._known(head) and (moved := self.canonical(head)) != head:
                target = f"{moved}.{tail}"
            else:
                return target
        return target

    def resolve(self, node: ast.expr, module: str, cls: str | None) -> str | None:
        if isinstance(node, ast.Name):
            local = f"{module}.{node.id}"
            if local in self.defs or local in self.classes:
                return local
            imported = self.imports[module].get(node.id)
            return self.canonical(imported) if imported else None
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and cls:
                return f"{cls}.{node.attr}"
            base = self.resolve(node.value, module, cls)
            return self.canonical(f"{base}.{node.attr}") if base else None
        return None

    def kinds(self, start: str) -> set[str]:
        seen: set[str] = set()
        found: set[str] = set()
        stack = [start]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            node = self.defs.get(name)
            if node is None:
                if name in self.classes:
                    stack += [f"{name}.__init__", f"{name}.__post_init__"]
                continue
            module = max((m for m in self.imports if name.startswith(m + ".")), key=len)
            rest = name[len(module) + 1 :].split(".")
            cls = f"{module}.{rest[0]}" if len(rest) == 2 else None
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and (target := self.resolve(sub.func, module, cls)):
                    if target in KINDS:
                        found.add(KINDS[target])
                    else:
                        stack.append(target)
        return found


def root_fields() -> Iterator[tuple[str, Any]]:
    for root in (Query, Mutation):
        definition = getattr(root, "__strawberry_definition__")  # noqa: B009
        for field in definition.fields:
            yield definition.name, field


def test_each_result_union_has_a_member_for_every_failure_its_resolver_can_raise() -> None:
    graph = CallGraph()
    member_of = {kind.__name__: member for kind, member in MEMBER_OF_KIND}
    missing: list[str] = []
    for root, field in root_fields():
        members = problem_members(field)
        if not members:
            continue  # a query without problem members reports failures in errors[]
        resolver = field.base_resolver.wrapped_func
        kinds = graph.kinds(f"{resolver.__module__}.{resolver.__qualname__}")
        assert kinds, f"{root}.{field.name}: the call graph found nothing (is the scan broken?)"
        for kind in sorted(kinds):
            if (field.name, kind) in UNREACHABLE:
                continue
            member = member_of.get(kind)
            if member not in members:
                missing.append(f"{root}.{field.name} can raise {kind}: its union lacks {member}")
    assert missing == []


def test_the_call_graph_finds_failures_deep_in_the_services() -> None:
    # Hand-checked: assignDomain → hub.grading.admin.assign_domain → hub.grading.service.domain_of
    # raises NotFound (UNKNOWN_DOMAIN); revokeToken raises NotFound and Conflict in hub.auth.service.
    graph = CallGraph()
    assert graph.kinds("schema.grading.operations.GradingMutations.assign_domain") >= {"NotFound", "Invalid"}
    assert graph.kinds("schema.auth.operations.AuthMutations.revoke_token") == {"NotFound", "Conflict"}


def test_every_mutation_and_every_problem_answering_query_has_the_extension(settings) -> None:
    build_schema(settings)
    for root, field in root_fields():
        extensions = [e for e in field.extensions if isinstance(e, ExpectedFailures)]
        if root == "Mutation" or problem_members(field):
            assert len(extensions) == 1, f"{root}.{field.name}"
            assert extensions[0].savepoint is (root == "Mutation"), f"{root}.{field.name}"
        else:
            assert extensions == [], f"{root}.{field.name}"


# --- the mechanism on a schema of its own --------------------------------------------------------


@strawberry.type
class Done:
    ok: bool


@dataclass
class Context:
    """What ExpectedFailures reads of the hub's context: the session, and the caller and gate that
    the problem's message leaves through."""

    session: AsyncSession
    caller: Caller = PUBLIC
    disclosure: Disclosure = dataclasses.field(default_factory=lambda: Disclosure(PUBLIC))


async def _write(info: strawberry.Info, value: int) -> None:
    await info.context.session.execute(text("INSERT INTO probe VALUES (:v)"), {"v": value})


@strawberry.type
class ProbeQuery:
    @strawberry.field
    def ready(self) -> bool:
        return True


@strawberry.type
class ProbeMutation:
    @strawberry.mutation
    async def write(
        self, info: strawberry.Info, value: int
    ) -> Annotated[Done | InvalidInput, strawberry.union("WriteResult")]:
        await _write(info, value)
        return Done(ok=True)

    @strawberry.mutation
    async def write_then_refuse(
        self, info: strawberry.Info, value: int
    ) -> Annotated[Done | InvalidInput, strawberry.union("RefuseResult")]:
        await _write(info, value)
        raise Invalid("refused after writing", code="OUT_OF_RANGE", path="value")

    @strawberry.mutation
    async def write_then_vanish(
        self, info: strawberry.Info, value: int
    ) -> Annotated[Done | InvalidInput, strawberry.union("VanishResult")]:
        await _write(info, value)
        raise NotFound("no such thing", code="UNKNOWN_PLAN", path="value")

    @strawberry.mutation
    async def write_then_break(
        self, info: strawberry.Info, value: int
    ) -> Annotated[Done | NotFoundProblem, strawberry.union("BreakResult")]:
        await _write(info, value)
        raise RuntimeError("an unexpected failure")


answer_expected_failures(ProbeQuery, ProbeMutation)
PROBE = strawberry.Schema(query=ProbeQuery, mutation=ProbeMutation)


async def _probe(session: AsyncSession, connection: AsyncConnection, operation: str) -> tuple[Any, list[int]]:
    await connection.execute(text("CREATE TEMP TABLE IF NOT EXISTS probe (value int)"))
    result = await PROBE.execute(operation, context_value=Context(session))
    rows = (await session.execute(text("SELECT value FROM probe ORDER BY value"))).scalars().all()
    return result, list(rows)


async def test_a_refused_mutation_writes_nothing_and_its_sibling_keeps_its_work(session, connection) -> None:
    result, rows = await _probe(
        session,
        connection,
        "mutation { a: write(value: 1) { __typename } "
        "b: writeThenRefuse(value: 2) { __typename ... on InvalidInput { code message path } } "
        "c: write(value: 3) { __typename } }",
    )
    assert result.errors is None
    assert result.data == {
        "a": {"__typename": "Done"},
        "b": {
            "__typename": "InvalidInput",
            "code": "OUT_OF_RANGE",
            "message": "refused after writing",
            "path": "value",
        },
        "c": {"__typename": "Done"},
    }
    assert rows == [1, 3]


async def test_a_kind_the_union_lacks_goes_up_with_its_code_and_writes_nothing(session, connection) -> None:
    result, rows = await _probe(session, connection, "mutation { writeThenVanish(value: 4) { __typename } }")
    assert result.data is None
    [error] = result.errors
    assert isinstance(error.original_error, NotFound) and error.original_error.code == "UNKNOWN_PLAN"
    assert rows == []


async def test_an_unexpected_error_goes_up_untouched_and_writes_nothing(session, connection) -> None:
    result, rows = await _probe(session, connection, "mutation { writeThenBreak(value: 5) { __typename } }")
    assert result.data is None
    [error] = result.errors
    assert isinstance(error.original_error, RuntimeError)
    assert rows == []


def test_a_mutation_without_problem_members_is_refused_when_the_schema_is_built() -> None:
    @strawberry.type
    class Bare:
        @strawberry.mutation
        async def plain(self) -> bool:
            return True

    with pytest.raises(TypeError, match="plain"):
        answer_expected_failures(ProbeQuery, Bare)


# --- through the real schema ----------------------------------------------------------------------

MIXED = """mutation($file: Upload!, $r: [RecordInput!]!) {
  a: pushRecordsFile(file: $file, recordType: "administrative_penalty", idempotencyKey: "sp-1") {
    __typename ... on Problem { code path }
  }
  b: pushRecords(records: $r, idempotencyKey: "sp-2") { __typename ... on PushReceipt { created } }
}"""
STORED = """SELECT (SELECT count(*) FROM bulk_receipts), (SELECT count(*) FROM bulk_rejections),
  (SELECT count(*) FROM records WHERE uscc = :u)"""


async def test_a_bulk_push_refused_after_writing_keeps_nothing_and_the_next_push_is_kept(
    client, actors, connection
) -> None:
    dept = actors["department"]
    first = await upload(client, dept, csv_file(dept.code, 3), key="sp-1")
    assert first["data"]["pushRecordsFile"]["__typename"] == "BulkReceipt", first
    uscc = company_code(9301)
    before = (await connection.execute(text(STORED), {"u": uscc})).one()
    # The same key with another file: refused only after its receipt and rejected rows were written.
    operations = {
        "query": MIXED,
        "variables": {"file": None, "r": [valid_record("administrative_penalty", dept.code, uscc)]},
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        files={"0": ("other.csv", csv_file(dept.code, 3, bad=2), "text/csv")},
        headers=dept.headers,
    )
    answer = response.json()
    assert answer["data"] == {
        "a": {"__typename": "ConflictProblem", "code": "IDEMPOTENCY_KEY_REUSED", "path": "idempotencyKey"},
        "b": {"__typename": "PushReceipt", "created": 1},
    }, answer
    after = (await connection.execute(text(STORED), {"u": uscc})).one()
    assert tuple(after) == (before[0], before[1], before[2] + 1)


RECEIPT = """query($id: ID!) { bulkReceipt(id: $id) {
  __typename ... on BulkReceipt { total } ... on Problem { code path } } }"""


async def test_bulk_receipt_answers_each_failure_with_its_member(client, actors) -> None:
    dept = actors["department"]
    pushed = await upload(client, dept, csv_file(dept.code, 2), key="rc-1")
    receipt_id = pushed["data"]["pushRecordsFile"]["id"]
    cases = [
        (dept, receipt_id, {"__typename": "BulkReceipt", "total": 2}),
        (dept, "not-a-uuid", {"__typename": "InvalidInput", "code": "BAD_ID", "path": "id"}),
        (
            dept,
            "00000000-0000-4000-8000-000000000000",
            {"__typename": "NotFoundProblem", "code": "NOT_FOUND", "path": "id"},
        ),
        (
            actors["department2"],
            receipt_id,
            {"__typename": "NotPermitted", "code": "FORBIDDEN", "path": None},
        ),
    ]
    for actor, asked, expected in cases:
        answer = await gql(client, RECEIPT, {"id": asked}, actor)
        assert answer.get("errors") is None and answer["data"]["bulkReceipt"] == expected, (asked, answer)
