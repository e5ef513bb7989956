"""The response says what the disclosure gate withheld or masked: `extensions.disclosure` (house rule 12)."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension


class DisclosureReport(SchemaExtension):
    """Adds the request's gate report to the response, when the gate withheld or masked anything."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        gate = getattr(context, "disclosure", None)
        report = gate.report() if gate is not None else []
        return {"disclosure": report} if report else {}
