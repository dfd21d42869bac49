"""The command line: `python -m app migrate|create-user|seed-demo|serve|send-mail|verify-log`."""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from app.config import Settings, get_settings
from app.db import make_engine, refresh_statistics, session_scope
from app.models import Role, utcnow


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.migrate import upgrade

    engine = make_engine(settings)
    upgrade(engine)
    refresh_statistics(engine)
    print("The database schema is up to date.")
    return 0


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import DomainError
    from app.services.accounts.accounts import create_account

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    engine = make_engine(settings)
    try:
        with session_scope(engine, write=True) as session:
            new = create_account(
                session,
                email=args.email,
                name=args.name,
                role=Role(args.role),
                password=password,
                now=utcnow(),
            )
            session.commit()
    except DomainError as error:
        print(
            f"error: {error.message % error.params if error.params else error.message}",
            file=sys.stderr,
        )
        return 1
    print(f"Created {new.account.role} account {new.account.email}.")
    if new.set_password_token:
        base = settings.base_url.rstrip("/")
        link = f"{base}/account/set-password/{new.set_password_token}"
        print(f"One-time link to set the password (valid 7 days): {link}")
    return 0


def _seed_demo(settings: Settings, _args: argparse.Namespace) -> int:
    from app.services.demo.campaign import seed_demo
    from app.services.demo.past_edition import seed_past_edition

    engine = make_engine(settings)
    with session_scope(engine, write=True) as session:
        seed_past_edition(session, now=utcnow())
        result = seed_demo(session, now=utcnow())
        session.commit()
    state = "created" if result.created else "already there"
    print(f"Demo campaign {result.campaign.year}: {state}; themes youth and sustainability.")
    past = f"{settings.base_url.rstrip('/')}/results/{result.campaign.year - 1}"
    print(f"Last year's edition, published: {past}")
    print("Demo accounts (passwords are new on every run):")
    for email, password, role in result.credentials:
        print(f"  {role:6} {email}  {password}")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    import uvicorn

    from app.services.files import FileStore
    from app.services.nominations.intake import sweep_orphan_files

    engine = make_engine(settings)
    refresh_statistics(engine)
    removed = sweep_orphan_files(
        engine, FileStore(settings.files_dir), older_than=timedelta(minutes=10)
    )
    if removed:
        logging.getLogger("app").info("removed %d orphan file(s)", len(removed))

    options = {
        "host": args.host,
        "port": args.port,
        "proxy_headers": False,
        # Longer than uvicorn's 5 s: fewer idle connections closed just as a browser reuses them.
        "timeout_keep_alive": 30,
        "server_header": False,
        "log_level": settings.log_level.lower(),
    }
    if args.workers > 1:
        # uvicorn's supervisor only starts and watches the workers, each a fresh interpreter
        # that imports the app itself. Replaced by a bare `python -m uvicorn`, it holds ~20 MB
        # instead of everything the preparation above imported (~70 MB, measured with bench/).
        engine.dispose()
        sys.stdout.flush()
        sys.stderr.flush()
        # S606: the command is this interpreter and our own flags; no shell, nothing typed in.
        os.execv(sys.executable, _uvicorn_command(options, workers=args.workers))  # noqa: S606
    uvicorn.run("app.main:app", **options)
    return 0


def _uvicorn_command(options: dict[str, object], *, workers: int) -> list[str]:
    """The command line that runs uvicorn with `options` (uvicorn.run's keywords)."""
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--workers", str(workers)]
    for name, value in options.items():
        flag = name.replace("_", "-")
        command += [f"--no-{flag}"] if value is False else [f"--{flag}", str(value)]
    return command


def _send_mail(settings: Settings, _args: argparse.Namespace) -> int:
    from app.services.mail.outbox import deliver_outbox

    result = deliver_outbox(
        make_engine(settings), smtp_url=settings.smtp_url, sender=settings.mail_from
    )
    print(f"sent {result.sent}, failed {result.failed}, still waiting {result.waiting}")
    return 0 if result.failed == 0 else 1


def _verify_log(settings: Settings, args: argparse.Namespace) -> int:
    from app.services import audit_chain

    published = None
    try:
        signer = audit_chain.load_signer(settings, create=False)
        if args.checkpoints:
            published = audit_chain.read_published(args.checkpoints)
    except (audit_chain.BadKey, audit_chain.PublishedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Without the installation's key (a copy of the database checked elsewhere), the public key
    # the site publishes checks the database's checkpoints as well.
    public_key = signer.public if signer else None
    if public_key is None and published is not None:
        public_key = audit_chain.published_key(published)
    engine = make_engine(settings)
    with session_scope(engine) as session:
        result = audit_chain.verify(session, public_key=public_key, published=published)
    engine.dispose()
    if not result.ok:
        print(f"FAILED: {result.problems[0]}")
        for problem in result.problems[1:]:
            print(f"also: {problem}")
        return 1
    checked = f"{result.checkpoints} checkpoint(s)"
    if published is not None:
        checked += f" and {result.published} published checkpoint(s)"
    print(f"OK: {result.event_count} events, head {result.head_hash}; {checked} match.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="The Integrity Icon portal.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(
        run=_migrate
    )
    user = commands.add_parser("create-user", help="make an account")
    user.add_argument("email")
    user.add_argument("--role", required=True, choices=[role.value for role in Role])
    user.add_argument("--name", required=True)
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user.set_defaults(run=_create_user)
    commands.add_parser("seed-demo", help="a demo campaign open for nominations").set_defaults(
        run=_seed_demo
    )
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)
    commands.add_parser("send-mail", help="deliver what waits in the outbox").set_defaults(
        run=_send_mail
    )
    verify = commands.add_parser(
        "verify-log", help="recompute the audit chain and check its signed checkpoints"
    )
    verify.add_argument(
        "--checkpoints",
        metavar="URL_OR_FILE",
        help="also check the checkpoints published at /transparency/checkpoints.json",
    )
    verify.set_defaults(run=_verify_log)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    return int(args.run(settings, args))


if __name__ == "__main__":
    sys.exit(main())
