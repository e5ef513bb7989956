"""`credit-hub`: serve, migrate, demo, schema, reclassify, consents expire, plan verify, token
issue|revoke, org add, keys init|status|rotate, audit verify|integrate|purge|key."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from hub import logs
from hub.auth import service as auth
from hub.auth.caller import Role
from hub.db import (
    database_url,
    make_engine,
    make_sessionmaker,
    migration_url,
    server_role_problems,
    unit_of_work,
)
from hub.errors import HubError
from hub.settings import Settings, check_production, get_settings

if TYPE_CHECKING:
    from hub.records.sealing.service import KeyStatus

T = TypeVar("T")


def _in_session(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], url: URL | None = None
) -> T:
    """Run `work` in one unit of work: committed when it returns, rolled back when it raises.
    `url`: default the server's (HUB_DATABASE_URL)."""

    async def run() -> T:
        engine = make_engine(url or database_url(settings), pool_size=1)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from hub import migrate
    from hub.catalog.policy import sync_bundled

    url = migration_url(settings)
    migrate.upgrade(url)
    synced = _in_session(settings, lambda s: sync_bundled(s, by="credit-hub migrate"), url)
    print(f"database at head; catalogue documents stored: {len(synced.added)} new version(s)")
    for kind, code in synced.kept_amendments:
        print(
            f"kept the credit office's amendment of {kind} {code}: the shipped version differs and was not stored"
        )
    return 0


def cmd_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema.build import build_schema

    print(build_schema(Settings(introspection=True)).as_str())
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from hub.web.app import create_app

    logs.configure(settings.log_level)
    problems = _in_session(settings, server_role_problems)
    if problems:
        message = "the server's database role " + "; ".join(problems) + " (README, Database roles)"
        if settings.environment == "production":
            raise SystemExit(message)
        logging.getLogger("hub.cli").warning(message)
    app = create_app(settings)
    # Everything built so far lives as long as the process: keep the collector from scanning it.
    gc.collect()
    gc.freeze()
    # Our RequestLog middleware logs each request without its query string; uvicorn's access log would not.
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
    )
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from hub.demo import load_demo
    from hub.web.keys import key_provider

    keys = key_provider(settings, create=settings.environment != "production")
    tokens = _in_session(settings, lambda s: load_demo(s, keys, entities=args.entities, seed=args.seed))
    host, port = settings.host, settings.port
    print(f"\nDemo data loaded. GraphiQL: http://{host}:{port}/graphql\n")
    print("Bearer tokens (valid 30 days; send as `Authorization: Bearer <token>`):")
    for role, (name, secret) in tokens.items():
        print(f"  {role:<14} {name}\n                 {secret}")
    print("\nA first query to paste (works without a token, shows the public view):\n")
    print(
        '  { searchEntities(name: "科技", first: 3) { totalCount edges { node { uscc name district\n'
        "      records(first: 5) { totalCount edges { node { recordType decisionDate fields } } } } } } }\n"
    )
    print("Then, with the bank token, an entity's classification and the measures that apply:\n")
    print(
        '  { supervision(uscc: "<a USCC from the search>", domain: "market_regulation") {\n'
        "      category grade scheme basis validUntil measures { samplingRatioMax incentives restrictions } } }\n"
    )
    return 0


def cmd_reclassify(settings: Settings, args: argparse.Namespace) -> int:
    """Re-classify domains now: run daily, so expired evaluations stop counting (cron, a k8s CronJob)."""
    import datetime as dt

    from hub.catalog.policy import current_policy
    from hub.grading.service import reclassify

    async def run(session: AsyncSession) -> list[tuple[str, int, int]]:
        policy = await current_policy(session)
        domains = args.domain or sorted(policy.domains)
        done = []
        for domain in domains:
            result = await reclassify(
                session, domain, None, cause="scheduled re-classification", today=dt.date.today()
            )
            done.append((domain, result.population, result.changed))
        return done

    for domain, population, changed in _in_session(settings, run):
        print(f"{domain}: {population} entities, {changed} changed")
    return 0


def cmd_consents_expire(settings: Settings, args: argparse.Namespace) -> int:
    """Record authorisations past their validity as expired, with their change events (cron)."""
    import datetime as dt

    from hub.consents.service import expire_due

    total = 0
    while True:  # batches of 1,000, each committed
        done = _in_session(settings, lambda s: expire_due(s, dt.datetime.now(dt.UTC)))
        total += done
        if done < 1000:
            break
    print(f"{total} authorisations expired")
    return 0


def cmd_org_add(settings: Settings, args: argparse.Namespace) -> int:
    organisation = _in_session(
        settings,
        lambda s: auth.register_organisation(s, args.code, args.name, Role(args.role), args.authority_domain),
    )
    print(f"registered {organisation.code} {organisation.name} as {organisation.role}")
    return 0


def cmd_token_issue(settings: Settings, args: argparse.Namespace) -> int:
    issued = _in_session(
        settings, lambda s: auth.issue_token(s, args.organisation, args.label, args.days, by="cli")
    )
    print(
        f"token {issued.token.id} for {issued.token.organisation_code}, expires {issued.token.expires_at:%Y-%m-%d}"
    )
    print(issued.secret)
    return 0


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    token = _in_session(settings, lambda s: auth.revoke_token(s, args.token_id))
    print(f"token {token.id} revoked at {token.revoked_at:%Y-%m-%d %H:%M:%S}")
    return 0


def cmd_keys_init(settings: Settings, args: argparse.Namespace) -> int:
    from hub.web.keys import init_key_file

    path, current = init_key_file(settings)
    print(f"key file {path}: wrapping key version {current} is current")
    return 0


def _print_status(status: KeyStatus) -> None:
    print(f"current wrapping key version: {status.current_version}")
    names = {None: "no personal field", 0: "plain (written before encryption at rest)"}
    for version in sorted(status.by_version, key=lambda v: -1 if v is None else v):
        label = names.get(version, f"version {version}")
        print(f"  {label}: {status.by_version[version]} rows")
    print(f"rows on an older version: {status.behind}")


def cmd_keys_status(settings: Settings, args: argparse.Namespace) -> int:
    from hub.records.sealing.service import key_status
    from hub.web.keys import key_provider

    keys = key_provider(settings)
    _print_status(_in_session(settings, lambda s: key_status(s, keys)))
    return 0


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    """Add a wrapping key (unless a rotation is unfinished: then resume it) and move every row onto it."""
    from hub.records.sealing.service import key_status, rotate
    from hub.web.keys import add_wrapping_key, key_provider

    keys = key_provider(settings)
    before = _in_session(settings, lambda s: key_status(s, keys))
    if before.behind:
        print(f"resuming: {before.behind} rows below version {before.current_version}", flush=True)
    elif not args.no_new_key:
        print(f"wrapping key version {add_wrapping_key(settings)} added and current", flush=True)

    def progress(moved: int) -> None:
        print(f"moved {moved} rows", flush=True)

    async def run() -> int:
        engine = make_engine(database_url(settings), pool_size=1)
        try:
            batch = args.batch or settings.rotation_batch_rows
            return await rotate(make_sessionmaker(engine), keys, batch, progress, settings.blind_index_bits)
        finally:
            await engine.dispose()

    moved = asyncio.run(run())
    print(f"rotation done: {moved} rows moved onto version {keys.current_version}")
    _print_status(_in_session(settings, lambda s: key_status(s, keys)))
    return 0


def cmd_plan_verify(settings: Settings, args: argparse.Namespace) -> int:
    from hub.inspections.verify import verify_file

    return verify_file(args.file, sys.stdout)


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Recompute the access log from its entries against every stored checkpoint; exit 1 when bad."""
    from hub.audit import service as audit
    from hub.crypto import StaticKeyProvider

    keys = StaticKeyProvider(settings.master_key)
    report = _in_session(settings, lambda s: audit.verify(s, settings, keys))
    print(
        f"access log: {report.size} leaves, {report.checkpoints} checkpoints"
        + (f", details purged below leaf {report.purged_below}" if report.purged_below else "")
    )
    for path in args.checkpoint or ():
        held = path.read_text()

        async def consistent(session: AsyncSession, note: str = held) -> bool:
            return await audit.verify_checkpoint(session, settings, keys, note)

        if not _in_session(settings, consistent):
            report.note(f"the checkpoint in {path} is not a prefix of the log")
    if report.ok:
        print("ok: every checkpoint verifies against the entries")
        return 0
    if report.first_bad_index is not None:
        print(f"BAD: first bad index {report.first_bad_index}")
    for problem in report.problems:
        print(f"  {problem}")
    return 1


def cmd_audit_integrate(settings: Settings, args: argparse.Namespace) -> int:
    """One sequencer run (the hub's processes run it by themselves every HUB_ACCESS_LOG_SEQUENCER_SECONDS)."""
    from hub.audit import service as audit
    from hub.crypto import StaticKeyProvider

    keys = StaticKeyProvider(settings.master_key)
    done = _in_session(settings, lambda s: audit.integrate(s, settings, keys))
    if done.locked_out:
        print("another process is integrating; nothing done")
        return 0
    signed = f", checkpoint signed at {done.checkpoint}" if done.checkpoint else ""
    print(f"integrated {done.added} entries; the tree has {done.size} leaves{signed}")
    return 0


def cmd_audit_purge(settings: Settings, args: argparse.Namespace) -> int:
    """Delete the details of entries past HUB_ACCESS_LOG_RETENTION_DAYS, as the schema's owner."""
    import datetime as dt

    from hub.audit import service as audit

    before, purged = _in_session(
        settings, lambda s: audit.purge(s, settings, dt.datetime.now(dt.UTC)), migration_url(settings)
    )
    print(f"purged the details of {purged} entries; leaves below {before} keep only their hashes")
    return 0


def cmd_audit_key(settings: Settings, args: argparse.Namespace) -> int:
    """The access log's public key: the signed-note verifier key, and the JWK."""
    import json

    from hub.audit import service as audit
    from hub.crypto import StaticKeyProvider

    keys = StaticKeyProvider(settings.master_key)
    print(audit.note_verifier_key(settings, keys))
    print(json.dumps({"keys": audit.public_jwks(keys)}))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="credit-hub", description="Credit Hub: the city credit data-sharing hub."
    )
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve GraphQL at /graphql")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="upgrade the database and store the catalogue").set_defaults(
        run=cmd_migrate
    )
    commands.add_parser("schema", help="print the GraphQL SDL").set_defaults(run=cmd_schema)

    demo = commands.add_parser("demo", help="load the demo data set and print a token per role")
    demo.add_argument("--entities", type=int, default=3000)
    demo.add_argument("--seed", type=int, default=20261125)
    demo.set_defaults(run=cmd_demo)

    reclassify = commands.add_parser("reclassify", help="re-classify domains now (run daily)")
    reclassify.add_argument("--domain", action="append", help="only this domain (repeatable)")
    reclassify.set_defaults(run=cmd_reclassify)

    consents = commands.add_parser("consents", help="authorisations (授权)").add_subparsers(
        dest="consents_command", required=True
    )
    consents.add_parser(
        "expire", help="record grants past their validity as expired (run daily)"
    ).set_defaults(run=cmd_consents_expire)

    org = commands.add_parser("org", help="organisations").add_subparsers(dest="org_command", required=True)
    add = org.add_parser("add", help="register a calling organisation")
    add.add_argument("code", help="its USCC")
    add.add_argument("name")
    add.add_argument("role", choices=[r.value for r in Role if r is not Role.PUBLIC])
    add.add_argument("--authority-domain", help="e.g. market_regulation")
    add.set_defaults(run=cmd_org_add)

    token = commands.add_parser("token", help="bearer tokens").add_subparsers(
        dest="token_command", required=True
    )
    issue = token.add_parser("issue", help="issue a token to an organisation (prints the secret once)")
    issue.add_argument("organisation", help="the organisation's USCC")
    issue.add_argument("--label", default="cli")
    issue.add_argument("--days", type=int, default=90)
    issue.set_defaults(run=cmd_token_issue)
    revoke = token.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(run=cmd_token_revoke)
    keys = commands.add_parser("keys", help="encryption at rest: wrapping keys").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_parser("init", help="write the key file (HUB_KEY_FILE) with a first wrapping key").set_defaults(
        run=cmd_keys_init
    )
    keys.add_parser("status", help="rows per wrapping key version").set_defaults(run=cmd_keys_status)
    rotate = keys.add_parser(
        "rotate",
        help="add a wrapping key and re-encrypt every row onto it, online (resumes an unfinished one)",
    )
    rotate.add_argument("--no-new-key", action="store_true", help="only move rows onto the current version")
    rotate.add_argument("--batch", type=int, help="rows per transaction (default HUB_ROTATION_BATCH_ROWS)")
    rotate.set_defaults(run=cmd_keys_rotate)
    plan = commands.add_parser("plan", help="double-random inspection plans").add_subparsers(
        dest="plan_command", required=True
    )
    verify = plan.add_parser("verify", help="check a published plan: commitment, hashes, assignments")
    verify.add_argument("file", type=Path, help="the JSON of inspectionPlan(id) { publication }")
    verify.set_defaults(run=cmd_plan_verify)

    audit = commands.add_parser("audit", help="the access log (who read what)").add_subparsers(
        dest="audit_command", required=True
    )
    audit_verify = audit.add_parser("verify", help="recompute the log against every signed checkpoint")
    audit_verify.add_argument(
        "--checkpoint", type=Path, action="append", help="a checkpoint held outside (a receipt's), repeatable"
    )
    audit_verify.set_defaults(run=cmd_audit_verify)
    audit.add_parser("integrate", help="integrate pending entries now").set_defaults(run=cmd_audit_integrate)
    audit.add_parser("purge", help="purge entries past the retention period (as the owner)").set_defaults(
        run=cmd_audit_purge
    )
    audit.add_parser("key", help="print the log's verifier key and JWK").set_defaults(run=cmd_audit_key)
    return root


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # Python's default for SIGTERM ends the process without running atexit handlers, and the
    # embedded PostgreSQL is stopped by one. uvicorn shuts down gracefully on SIGTERM, restores this
    # handler and raises the signal again: it lands here too.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = parser().parse_args(argv)
    settings = get_settings()
    check_production(settings, migrating=args.command == "migrate")
    try:
        return int(args.run(settings, args))
    except HubError as error:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # SIGINT outside uvicorn's handler (migrate, demo, starting up)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
