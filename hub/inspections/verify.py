"""`credit-hub plan verify <file.json>`: check a published plan with nothing but the file."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import orjson

from hub.inspections.publication import PublicationError, parse, verify


def verify_file(path: Path, out: TextIO) -> int:
    """Print "verified" (exit code 0) or each difference found (exit code 1)."""
    try:
        publication = parse(orjson.loads(path.read_bytes()))
    except OSError as error:
        print(f"cannot read {path}: {error.strerror}", file=out)
        return 1
    except orjson.JSONDecodeError as error:
        print(f"{path} is not JSON: {error}", file=out)
        return 1
    except PublicationError as error:
        print(f"{path} is not a plan publication: {error}", file=out)
        return 1
    problems = verify(publication)
    if problems:
        for problem in problems:
            print(problem, file=out)
        return 1
    plan = publication.details.get("planId", "the plan")
    print(
        f"verified: {plan}, {len(publication.candidates)} candidates, "
        f"{len(publication.assignments)} drawn, {len(publication.inspectors)} inspectors",
        file=out,
    )
    return 0
