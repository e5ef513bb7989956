"""The published plan (一公开) as JSON, and its verification by anyone who holds it.

`to_json` is what `inspectionPlan(id) { publication }` returns after the draw; `parse` reads it
back (also wrapped in a whole GraphQL response); `verify` checks the commitment, both hashes and
that re-running chub-draw-v1 gives exactly the published assignments.
"""

from __future__ import annotations

import hmac
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from hub.inspections.draw import (
    ALGORITHM,
    CATEGORIES,
    SEED_BYTES,
    Assignment,
    PlanPublication,
    PoolInspector,
    TooFewInspectors,
    candidates_hash,
    inspectors_hash,
    recompute,
    seed_commitment,
)

FORMAT = "chub-plan-publication-v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SHOWN = 10


class PublicationError(ValueError):
    """The file is not a readable plan publication; the message says where."""


def to_json(publication: PlanPublication, names: Mapping[str, str | None]) -> dict[str, Any]:
    """The publication as a JSON object; `names` gives the registered names of drawn entities."""
    return {
        "format": FORMAT,
        **publication.details,
        "algorithm": publication.algorithm,
        "seed": publication.seed,
        "seedCommitment": publication.seed_commitment,
        "candidatesHash": publication.candidates_hash,
        "inspectorsHash": publication.inspectors_hash,
        "ratios": dict(publication.ratios),
        "candidates": [[uscc, category] for uscc, category in publication.candidates],
        "inspectors": [
            {"id": i.id, "name": i.name, "conflicts": list(i.conflicts)} for i in publication.inspectors
        ],
        "assignments": [
            {
                "uscc": a.uscc,
                "name": names.get(a.uscc),
                "category": a.category,
                "inspectors": list(a.inspectors),
            }
            for a in publication.assignments
        ],
    }


# A canonical list whose lines are all "USCC,category" in these plain characters can be written as
# JSON by string replacement: nothing in it needs escaping.
_PLAIN_CANONICAL = re.compile(r"(?:[0-9A-Z]{18},(?:trustworthy|minor|general|serious)\n)*")
_EMPTY_CANDIDATES = b'"candidates":[]'


def to_json_bytes(publication: PlanPublication, canonical: str, names: Mapping[str, str | None]) -> bytes:
    """`to_json` serialised, its candidates taken from the frozen canonical text (the publication's
    own `candidates` are ignored). For a million candidates this writes the list with a few string
    replacements instead of building and encoding a million small lists, seconds less per build."""
    head = orjson.dumps(to_json(replace(publication, candidates=()), names))
    if not _PLAIN_CANONICAL.fullmatch(canonical):
        pairs = [line.split(",", 1) for line in canonical.split("\n") if line]
        return head.replace(_EMPTY_CANDIDATES, b'"candidates":' + orjson.dumps(pairs), 1)
    body = canonical[:-1].replace(",", '","').replace("\n", '"],["')
    listed = f'[["{body}"]]' if body else "[]"
    # The key and its empty list occur once: inside a JSON string a quote would be escaped.
    return head.replace(_EMPTY_CANDIDATES, b'"candidates":' + listed.encode(), 1)


def _unwrap(document: Any) -> Any:
    """Accept the publication itself or the whole GraphQL answer that carries it."""
    if isinstance(document, dict) and "data" in document and isinstance(document["data"], dict):
        plan = document["data"].get("inspectionPlan")
        if isinstance(plan, dict) and "publication" in plan:
            return plan["publication"]
    return document


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise PublicationError(f"`{key}` must be a string")
    return value


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise PublicationError(f"`{key}` must be a list")
    return value


def _pair(item: Any, where: str) -> tuple[str, str]:
    if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
        raise PublicationError(f"{where} must be a pair of strings")
    return item[0], item[1]


def _inspector(item: Any, index: int) -> PoolInspector:
    if not isinstance(item, dict):
        raise PublicationError(f"inspectors[{index}] must be an object")
    conflicts = _list(item, "conflicts")
    if not all(isinstance(c, str) for c in conflicts):
        raise PublicationError(f"inspectors[{index}].conflicts must be strings")
    return PoolInspector(_text(item, "id"), str(item.get("name") or ""), tuple(conflicts))


def _assignment(item: Any, index: int) -> Assignment:
    if not isinstance(item, dict):
        raise PublicationError(f"assignments[{index}] must be an object")
    pair = _pair(item.get("inspectors"), f"assignments[{index}].inspectors")
    return Assignment(_text(item, "uscc"), _text(item, "category"), pair)


def _ratios(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PublicationError("`ratios` must be an object")
    ratios: dict[str, str] = {}
    for category, ratio in value.items():
        if category not in CATEGORIES or not isinstance(ratio, str):
            raise PublicationError(f"ratio of {category!r} must be a decimal string of a known category")
        try:
            parsed = Decimal(ratio)
        except InvalidOperation as exc:
            raise PublicationError(f"ratio of {category!r} is not a decimal: {ratio!r}") from exc
        if not parsed.is_finite() or not Decimal(0) <= parsed <= Decimal(1):
            raise PublicationError(f"ratio of {category!r} must lie in [0, 1], got {ratio}")
        ratios[category] = ratio
    return ratios


def parse(document: Any) -> PlanPublication:
    """The publication in a parsed JSON document, or PublicationError saying what is missing."""
    obj = _unwrap(document)
    if not isinstance(obj, dict):
        raise PublicationError("expected the JSON object of a drawn plan's `publication`")
    if obj.get("format") != FORMAT:
        raise PublicationError(f"`format` must be {FORMAT!r}")
    return PlanPublication(
        algorithm=_text(obj, "algorithm"),
        seed=_text(obj, "seed"),
        seed_commitment=_text(obj, "seedCommitment"),
        candidates_hash=_text(obj, "candidatesHash"),
        inspectors_hash=_text(obj, "inspectorsHash"),
        ratios=_ratios(obj.get("ratios")),
        candidates=[_pair(c, f"candidates[{i}]") for i, c in enumerate(_list(obj, "candidates"))],
        inspectors=[_inspector(x, i) for i, x in enumerate(_list(obj, "inspectors"))],
        assignments=[_assignment(x, i) for i, x in enumerate(_list(obj, "assignments"))],
        details={k: obj[k] for k in ("planId", "domain", "period", "title", "department") if k in obj},
    )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _check_lists(publication: PlanPublication) -> list[str]:
    problems = []
    usccs = [uscc for uscc, _ in publication.candidates]
    if any(a >= b for a, b in itertools.pairwise(usccs)):
        problems.append("candidates are not sorted by USCC without duplicates")
    unknown = sorted({c for _, c in publication.candidates} - set(CATEGORIES))
    if unknown:
        problems.append(f"candidates have unknown categories: {', '.join(unknown)}")
    if not _same(candidates_hash(sorted(publication.candidates)), publication.candidates_hash):
        problems.append("candidatesHash does not match the candidate list")
    if not _same(inspectors_hash(publication.inspectors), publication.inspectors_hash):
        problems.append("inspectorsHash does not match the inspector list and its conflicts")
    return problems


def _compare(expected: Sequence[Assignment], published: Sequence[Assignment]) -> list[str]:
    want = {a.uscc: a for a in expected}
    have = {a.uscc: a for a in published}
    differences = []
    for uscc in sorted(want.keys() | have.keys()):
        mine, theirs = want.get(uscc), have.get(uscc)
        if theirs is None:
            differences.append(f"{uscc}: drawn by the algorithm but not in the published assignments")
        elif mine is None:
            differences.append(f"{uscc}: published as drawn, but the algorithm does not draw it")
        elif mine != theirs:
            differences.append(
                f"{uscc}: published {theirs.category} {'+'.join(theirs.inspectors)}, "
                f"recomputed {mine.category} {'+'.join(mine.inspectors)}"
            )
    if len(published) != len(have):
        differences.append("an entity appears more than once in the published assignments")
    if len(differences) > _SHOWN:
        more = len(differences) - _SHOWN
        differences = [*differences[:_SHOWN], f"… and {more} more difference(s)"]
    return differences


def verify(publication: PlanPublication) -> list[str]:
    """What differs between the publication and a re-run of the draw; empty when it verifies."""
    if publication.algorithm != ALGORITHM:
        return [f"unknown algorithm {publication.algorithm!r} (this verifier knows {ALGORITHM})"]
    problems = []
    seed_ok = bool(_HEX64.fullmatch(publication.seed))
    if not seed_ok:
        problems.append(f"seed must be {SEED_BYTES * 2} lowercase hex digits")
    elif not _same(seed_commitment(bytes.fromhex(publication.seed)), publication.seed_commitment):
        problems.append("seed does not match seedCommitment")
    problems.extend(_check_lists(publication))
    if seed_ok:
        try:
            problems.extend(_compare(recompute(publication), publication.assignments))
        except TooFewInspectors as error:
            problems.append(f"the draw cannot be re-run: {error}")
    return problems
