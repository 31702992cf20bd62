"""The `mkportal` command."""

from __future__ import annotations

import argparse
import logging
import sys

DEMO_PASSWORD = "demo-password"
DEMO_USERS = (
    ("owner@demo.mkportal.local", "owner", False),
    ("member@demo.mkportal.local", "member", False),
    ("viewer@demo.mkportal.local", "viewer", False),
    ("operator@vshn.mkportal.local", None, True),
)
DEMO_ORG = "Demo Org"


def _db_upgrade(_args: argparse.Namespace) -> int:
    from mkportal.migrate import upgrade

    upgrade()
    print("Database is up to date.")
    return 0


def _users_create(args: argparse.Namespace) -> int:
    from mkportal.models.org import Role
    from mkportal.services.users import create_user

    user = create_user(
        args.email, args.password, org=args.org, role=Role(args.role), operator=args.operator
    )
    print(f"User {user.email} ({'operator' if user.is_operator else 'user'}) is ready.")
    return 0


def _tokens_create(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from mkportal.db import session_scope
    from mkportal.models.org import Membership, Organization, User
    from mkportal.services.auth import actor_for
    from mkportal.services.tokens import create_token

    with session_scope() as s:
        user = s.exec(select(User).where(User.email == args.email.strip().lower())).first()
        if user is None:
            print(f"No user {args.email}.", file=sys.stderr)
            return 1
        org_id = None
        if args.org:
            org_id = s.exec(select(Organization.id).where(Organization.slug == args.org)).first()
        org_id = (
            org_id or s.exec(select(Membership.org_id).where(Membership.user_id == user.id)).first()
        )
        actor = actor_for(s, user, org_id, "cli")
    plain, _ = create_token(actor, args.name)
    print(plain)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from mkportal.worker.runtime import WorkerRuntime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    WorkerRuntime(threads=args.threads, embedded=False).run_forever()
    return 0


def _seed_demo(_args: argparse.Namespace) -> int:
    from mkportal.models.org import Role
    from mkportal.services.users import create_user

    for email, role, operator in DEMO_USERS:
        create_user(
            email,
            DEMO_PASSWORD,
            org=DEMO_ORG if role else None,
            role=Role(role or "owner"),
            operator=operator,
        )
    print("Demo organisation and users are ready. Sign in with:")
    for email, role, operator in DEMO_USERS:
        print(f"  {email:32} {DEMO_PASSWORD}   ({'operator' if operator else role})")
    return 0


def _billing_run(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from mkportal.db import session_scope
    from mkportal.models.org import Organization
    from mkportal.services.actor import Actor
    from mkportal.services.billing.invoices import check_period_over, get_invoice, run_billing
    from mkportal.services.errors import Invalid

    try:
        check_period_over(args.month)
    except Invalid as exc:
        print(f"error: --month: {exc.errors['period']}", file=sys.stderr)
        return 2
    org_id = None
    if args.org:
        with session_scope() as s:
            org_id = s.exec(select(Organization.id).where(Organization.slug == args.org)).first()
        if org_id is None:
            print(f"error: --org: no organisation with the slug {args.org!r}.", file=sys.stderr)
            return 2
    result = run_billing(args.month, org_id=org_id)
    operator = Actor.system("cli")
    print(
        f"Billing {result.period}: {len(result.invoice_ids)} invoices "
        f"({result.created} created, {result.rebuilt} rebuilt, {result.unchanged} already issued)."
    )
    for invoice_id in result.invoice_ids:
        inv = get_invoice(operator, invoice_id).invoice
        print(
            f"  {inv.number}  {inv.org_name:30.30}  {inv.currency} {inv.total:>12,.2f}  {inv.status}"
        )
    for invoice_id, message in result.errors.items():
        print(f"error: invoice {invoice_id} was not delivered: {message}", file=sys.stderr)
    return 1 if result.errors else 0


def _billing_meter(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from mkportal.services.billing.metering import cursor, meter

    start = None
    if args.start:
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            print("error: --start: use an ISO time, e.g. 2026-11-01T00:00Z.", file=sys.stderr)
            return 2
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    written = meter(start=start)
    print(f"Recorded {written} usage records; metered up to {cursor():%Y-%m-%d %H:00} UTC.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `mkportal` command."""
    p = argparse.ArgumentParser(prog="mkportal", description="mkportal administration")
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="migrate to the latest schema").set_defaults(func=_db_upgrade)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="u", required=True)
    uc = users.add_parser("create", help="create a user (and the org when missing)")
    uc.add_argument("--email", required=True)
    uc.add_argument("--password", required=True)
    uc.add_argument("--org", help="organisation name; created when missing")
    uc.add_argument("--role", default="owner", choices=["owner", "member", "viewer"])
    uc.add_argument("--operator", action="store_true", help="make the user a VSHNeer")
    uc.set_defaults(func=_users_create)

    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="t", required=True)
    tc = tokens.add_parser("create", help="create an API token and print it")
    tc.add_argument("--email", required=True)
    tc.add_argument("--name", default="cli")
    tc.add_argument("--org", help="organisation slug (default: the user's first)")
    tc.set_defaults(func=_tokens_create)

    w = sub.add_parser("worker", help="run a queue worker in the foreground")
    w.add_argument("--threads", type=int, default=None)
    w.set_defaults(func=_worker)

    sub.add_parser("seed-demo", help="create the demo org and users").set_defaults(func=_seed_demo)

    billing = sub.add_parser("billing", help="metering and invoices").add_subparsers(
        dest="b", required=True
    )
    br = billing.add_parser("run", help="bill a month: meter, rate, invoice, finalize, send")
    br.add_argument("--month", required=True, help="the month to bill, YYYY-MM (must be over)")
    br.add_argument("--org", help="only this organisation (slug)")
    br.set_defaults(func=_billing_run)
    bm = billing.add_parser("meter", help="record the usage of the hours completed so far")
    bm.add_argument("--start", help="meter from this hour (ISO, UTC) instead of the cursor")
    bm.set_defaults(func=_billing_meter)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the `mkportal` command."""
    from mkportal.services.errors import ServiceError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
