"""The process's metrics for /metrics (Prometheus text format): one registry per app, so that several
apps in one process (tests) never share or collide.

Every label value comes from a fixed set, never from the client's text: the route of the edge, the
operation type, the schema's own root field names (anything else is `other`), an outcome class and
a rejection reason. Hot-path cost is one dictionary look-up of the cached children per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Routes of the edge that are counted (healthz, readyz and metrics are not).
GRAPHQL: Final = "graphql"
BULK_REJECTIONS: Final = "bulk_rejections"
PLAN_PUBLICATION: Final = "plan_publication"
ROUTES: Final = (GRAPHQL, BULK_REJECTIONS, PLAN_PUBLICATION)

# The operation and field labels of a request that ran no GraphQL operation (refused before, or a download).
NONE: Final = "none"
# A root field the schema does not have, an operation that did not parse, a fragment at the root.
OTHER: Final = "other"
# Several root fields in one operation (a set of names would let a client make 2^n label values).
MULTIPLE: Final = "multiple"
# Only meta fields (__typename, __schema, __type) at the root.
INTROSPECTION: Final = "introspection"
OPERATIONS: Final = frozenset({"query", "mutation", "subscription"})

OK: Final = "ok"
FIELD_ERROR: Final = "field_error"
REQUEST_ERROR: Final = "request_error"
REJECTED: Final = "rejected"
CLIENT_ERROR: Final = "client_error"
SERVER_ERROR: Final = "server_error"
OUTCOMES: Final = (OK, FIELD_ERROR, REQUEST_ERROR, REJECTED, CLIENT_ERROR, SERVER_ERROR)

# Each rejection reason and the code its answer carries (hub.error_codes; OVERLOADED twice: the
# process's limit of concurrent requests, and no pool connection within the pool timeout).
REJECTION_CODES: Final = {
    "cost": "COST_LIMIT",
    "depth": "MAX_DEPTH",
    "aliases": "MAX_ALIASES",
    "tokens": "MAX_TOKENS",
    "page_size": "PAGE_SIZE",
    "string_length": "STRING_TOO_LONG",
    "body_size": "BODY_TOO_LARGE",
    "rate": "RATE_LIMITED",
    "concurrency": "OVERLOADED",
    "pool_timeout": "OVERLOADED",
}
# The reason of a refusal by a GraphQL limit, from the code of its error.
REASON_OF_CODE: Final = {
    code: reason
    for reason, code in REJECTION_CODES.items()
    if code in {"COST_LIMIT", "MAX_DEPTH", "MAX_ALIASES", "MAX_TOKENS", "PAGE_SIZE", "STRING_TOO_LONG"}
}

SUBSCRIPTION_OUTCOMES: Final = ("admitted", "limit_connection", "limit_caller", "refused", "failed")
SUBSCRIPTION_OUTCOME_OF_CODE: Final = {
    "SUBSCRIPTION_LIMIT_CONNECTION": "limit_connection",
    "SUBSCRIPTION_LIMIT_CALLER": "limit_caller",
}
BULK_FILE_OUTCOMES: Final = ("stored", "replayed", "refused", "failed")

# Seconds: from a cached look-up (about a millisecond) to a large upload.
LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


@dataclass(slots=True)
class Observation:
    """What one request's labels will be, filled in as it goes: by the edge (status, rejection) and
    by the GraphQL layer (operation, field, outcome)."""

    status: int = 0  # the HTTP status sent; 0 until the answer starts
    operation: str = NONE
    field: str = NONE
    outcome: str | None = None  # from the GraphQL result, when there was one
    reason: str | None = None  # a key of REJECTION_CODES

    def outcome_label(self) -> str:
        if self.reason is not None:
            return REJECTED
        if self.status == 0:  # no answer began: the client went away
            return CLIENT_ERROR
        if self.status >= 500:
            return SERVER_ERROR
        if self.outcome is not None:
            return self.outcome
        if self.status >= 400:
            return CLIENT_ERROR
        return OK


class Metrics:
    """The app's registry and its metrics. The gauges are read when scraped, from the functions
    `watch` is given (the pool and the hub's own counters in memory): a scrape runs no SQL."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "hub_requests",
            "Requests answered, by route, GraphQL operation type, root field and outcome.",
            ["route", "operation", "field", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "hub_request_duration_seconds",
            "Time from a request's arrival to the end of its answer (a download: to its first byte).",
            ["route", "operation", "field"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.rejections = Counter(
            "hub_rejections",
            "Requests refused by a limit of the hub, by reason.",
            ["reason"],
            registry=registry,
        )
        self.subscriptions = Counter(
            "hub_subscriptions",
            "Subscriptions asked for, by outcome (admitted, or why not).",
            ["outcome"],
            registry=registry,
        )
        self.bulk_rows = Counter(
            "hub_bulk_rows",
            "Rows of bulk files (pushRecordsFile) processed, by outcome (accepted, rejected).",
            ["outcome"],
            registry=registry,
        )
        self.bulk_files = Counter(
            "hub_bulk_files",
            "Bulk files pushed, by outcome.",
            ["outcome"],
            registry=registry,
        )
        # Every fixed label value exists from the start, so a scrape shows 0 rather than nothing.
        self._rejections = {reason: self.rejections.labels(reason) for reason in REJECTION_CODES}
        self._subscriptions = {o: self.subscriptions.labels(o) for o in SUBSCRIPTION_OUTCOMES}
        self._rows_accepted = self.bulk_rows.labels("accepted")
        self._rows_rejected = self.bulk_rows.labels("rejected")
        self._files = {o: self.bulk_files.labels(o) for o in BULK_FILE_OUTCOMES}
        # The children of each label set seen, so a request costs one look-up, not two `labels()`.
        self._children: dict[tuple[str, str, str, str], tuple[Counter, Histogram]] = {}

    def watch(
        self,
        *,
        pool_in_use: Callable[[], float],
        pool_waiting: Callable[[], float],
        subscriptions_open: Callable[[], float],
        listen_connections: Callable[[], float],
    ) -> None:
        """The gauges, each read from its function when scraped."""
        gauges = (
            (
                "hub_db_pool_connections_in_use",
                "Database connections of the pool checked out now.",
                pool_in_use,
            ),
            (
                "hub_db_pool_waiting_requests",
                "GraphQL requests waiting for a database connection now.",
                pool_waiting,
            ),
            ("hub_subscriptions_open", "Subscriptions open in this process now.", subscriptions_open),
            (
                "hub_listen_connections",
                "PostgreSQL LISTEN connections of this process now (one serves every subscriber).",
                listen_connections,
            ),
        )
        for name, documentation, read in gauges:
            Gauge(name, documentation, registry=self.registry).set_function(read)

    def request(self, route: str, observation: Observation, seconds: float) -> None:
        """Count one answered request and its time; a rejection also by its reason."""
        key = (route, observation.operation, observation.field, observation.outcome_label())
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.latency.labels(*key[:3]))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if observation.reason is not None:
            self._rejections[observation.reason].inc()

    def subscription(self, outcome: str) -> None:
        self._subscriptions[outcome].inc()

    def bulk_file(self, outcome: str, *, accepted: int = 0, rejected: int = 0) -> None:
        self._files[outcome].inc()
        if accepted:
            self._rows_accepted.inc(accepted)
        if rejected:
            self._rows_rejected.inc(rejected)
