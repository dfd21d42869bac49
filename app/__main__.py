"""The command line: `python -m app COMMAND`; README.md lists the commands."""

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy import Engine

from app.config import Settings, get_settings
from app.db import make_engine, refresh_statistics, session_scope
from app.models import Role, utcnow
from app.serving import DataDirLock, wait_for_port


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


def _signed_engine(settings: Settings) -> Engine:
    """The engine of a command that may make audit checkpoints (announcing finalists,
    publishing results): they are signed with the server's key, as the server would."""
    from app.services import audit_chain

    engine = make_engine(settings)
    signer = audit_chain.load_signer(settings)
    assert signer is not None
    audit_chain.use_signer(engine, signer)
    return engine


def _seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.demo.campaign import seed_demo
    from app.services.demo.past_edition import seed_past_edition

    if args.stage:
        return _seed_demo_stage(settings, args.stage)
    engine = _signed_engine(settings)
    base = settings.base_url.rstrip("/")
    with session_scope(engine, write=True) as session:
        seed_past_edition(session, now=utcnow())
        result = seed_demo(session, now=utcnow())
        session.commit()
    state = "created" if result.created else "already there"
    print(f"Demo campaign {result.campaign.year}: {state}; themes youth and sustainability.")
    print(f"Last year's edition, published: {base}/results/{result.campaign.year - 1}")
    _print_credentials(result.credentials)
    return 0


def _print_credentials(credentials: Sequence[tuple[str, str, Role]]) -> None:
    print("Demo accounts (passwords are new on every run):")
    for email, password, role in credentials:
        print(f"  {role:9} {email}  {password}")


def _seed_demo_stage(settings: Settings, stage_name: str) -> int:
    from app.services.demo.edition import Stage, build_edition
    from app.services.demo.past_edition import seed_past_edition
    from app.services.files import FileStore

    stage = Stage(stage_name)
    base = settings.base_url.rstrip("/")
    engine = _signed_engine(settings)
    began = time.monotonic()
    with session_scope(engine, write=True) as session:
        seed_past_edition(session, now=utcnow())
        result = build_edition(
            session,
            stage=stage,
            now=utcnow(),
            store=FileStore(settings.files_dir),
            base_url=settings.base_url,
            say=lambda text: print(f"seed-demo: {text}…", file=sys.stderr, flush=True),
        )
        session.commit()
    year = result.demo.campaign.year
    if result.built:
        print(
            f"Demo edition {year}: built up to the {stage} stage in"
            f" {time.monotonic() - began:.0f} s"
            + (f" (it was at {result.before})." if result.before else ".")
        )
    else:
        print(
            f"Demo edition {year}: already at the {result.before} stage; nothing changed"
            f" (asked for {stage})."
        )
    links = [("Staff dashboard", f"{base}/staff"), ("Screening queue", f"{base}/staff/nominations")]
    reached = result.before if not result.built and result.before else stage
    if reached in (Stage.judging, Stage.voting, Stage.published):
        links += [
            ("Meetings (staff)", f"{base}/staff/meetings"),
            ("A judge's meetings (sign in as judge1)", f"{base}/judges"),
        ]
    if reached in (Stage.voting, Stage.published):
        links.append(("Finalists, public", f"{base}/finalists"))
    if reached is Stage.voting:
        links.append(("The public vote", f"{base}/vote"))
    if reached is Stage.published:
        links.append(("Results, public", f"{base}/results"))
    links.append(("Last year's edition, published", f"{base}/results/{year - 1}"))
    for label, url in links:
        print(f"  {label}: {url}")
    _print_credentials(result.demo.credentials)
    return 0


# How long a worker finishes its requests once told to stop; a starting server waits a little
# longer for the workers of one that was killed.
GRACEFUL_SHUTDOWN_SECONDS = 20
STOP_WAIT_SECONDS = 30
# Files no row references are swept at start; younger ones only when no other server runs on
# this data directory, or they may belong to a submission still committing.
ORPHAN_AGE = timedelta(minutes=10)


def sweep_crash_leftovers(
    settings: Settings, engine: Engine, lock: DataDirLock, *, wait: float
) -> bool:
    """Removes the files no row references, left by a crash between writing a submission's
    files and committing it: all of them once the data directory's lock is ours alone (the
    processes that could be writing have ended, waiting up to `wait` seconds for them), else
    only those older than a submission takes. True when it was ours alone (it stays held)."""
    from app.services.files import FileStore
    from app.services.nominations.intake import sweep_orphan_files

    alone = lock.alone(wait=wait)
    removed = sweep_orphan_files(
        engine, FileStore(settings.files_dir), older_than=timedelta(0) if alone else ORPHAN_AGE
    )
    if removed:
        logging.getLogger("app").info("removed %d orphan file(s)", len(removed))
    return alone


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.services.files import sweep_held_files

    engine = make_engine(settings)
    refresh_statistics(engine)
    lock = DataDirLock(settings.data_dir)
    alone = sweep_crash_leftovers(settings, engine, lock, wait=STOP_WAIT_SECONDS)
    # Files kept for refused forms (personal data) go once their forms have expired.
    sweep_held_files(settings.files_dir, older_than=timedelta(hours=settings.form_max_age_hours))
    if alone:
        wait_for_port(args.host, args.port, wait=5)

    trusted = ",".join(settings.trusted_proxies)
    options = {
        "host": args.host,
        "port": args.port,
        # The same proxies as the app's own (app.web.edge), so the access log names the client.
        "proxy_headers": bool(trusted),
        **({"forwarded_allow_ips": trusted} if trusted else {}),
        # Longer than uvicorn's 5 s: fewer idle connections closed just as a browser reuses them.
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "server_header": False,
        "log_level": settings.log_level.lower(),
    }
    if args.workers > 1:
        # uvicorn's supervisor only starts and watches the workers, each a fresh interpreter
        # that imports the app itself. Replaced by a bare `python -m uvicorn`, it holds ~20 MB
        # instead of everything the preparation above imported (~70 MB, measured with bench/).
        # The workers hold the data directory's lock themselves (app.main).
        lock.release()
        engine.dispose()
        sys.stdout.flush()
        sys.stderr.flush()
        # S606: the command is this interpreter and our own flags; no shell, nothing typed in.
        os.execv(sys.executable, _uvicorn_command(options, workers=args.workers))  # noqa: S606
    lock.share()
    uvicorn.run("app.main:app", **options)
    return 0


def _uvicorn_command(options: dict[str, object], *, workers: int) -> list[str]:
    """The command line that runs uvicorn with `options` (uvicorn.run's keywords)."""
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--workers", str(workers)]
    for name, value in options.items():
        flag = name.replace("_", "-")
        if isinstance(value, bool):
            command += [f"--{flag}" if value else f"--no-{flag}"]
        else:
            command += [f"--{flag}", str(value)]
    return command


def _send_mail(settings: Settings, _args: argparse.Namespace) -> int:
    from app.services.mail.outbox import deliver_outbox

    result = deliver_outbox(
        make_engine(settings), smtp_url=settings.smtp_url, sender=settings.mail_from
    )
    if result.busy:
        print(f"another sender is delivering the outbox; {result.waiting} e-mail(s) waiting")
        return 0
    print(f"sent {result.sent}, failed {result.failed}, still waiting {result.waiting}")
    return 0 if result.failed == 0 else 1


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from app import backup

    run = backup.backup if args.command == "backup" else backup.restore
    try:
        run(settings, Path(args.dir))
    except backup.BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _error(message: str, params: dict[str, object]) -> int:
    print(f"error: {message % params if params else message}", file=sys.stderr)
    return 1


def _progress(what: str) -> Callable[[int], None]:
    def report(count: int) -> None:
        print(f"{what}: {count:,}…", file=sys.stderr, flush=True)

    return report


def _sanctions_import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.errors import DomainError
    from app.models import ListFormat
    from app.services.candidates.sanctions.importers import import_list

    paths = [Path(args.file)] + ([Path(args.aliases)] if args.aliases else [])
    for path in paths:
        if not path.is_file():
            return _error("%(path)s is not a file.", {"path": str(path)})
    engine = make_engine(settings)
    with ExitStack() as files, session_scope(engine, write=True) as session:
        file = files.enter_context(Path(args.file).open("rb"))
        aliases = files.enter_context(Path(args.aliases).open("rb")) if args.aliases else None
        try:
            summary = import_list(
                session,
                list_format=ListFormat(args.source),
                file=file,
                file_name=Path(args.file).name,
                aliases=aliases,
                aliases_file_name=Path(args.aliases).name if args.aliases else "",
                name=args.name,
                actor=None,
                settings=settings,
                now=utcnow(),
                progress=_progress("entries read"),
            )
        except DomainError as error:
            session.rollback()
            return _error(error.message, error.params)
        session.commit()
    result = summary.result
    print(
        f"{result.source.name}, version {result.version.id} ({result.version.file_name},"
        f" {result.version.entry_count} entries): {result.added} added, {result.changed} changed,"
        f" {result.removed} removed."
    )
    if summary.run is not None:
        print(f"Screened {summary.run.names} names: {summary.run.open} possible matches open.")
    return 0


def _sanctions_screen(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import DomainError
    from app.services.candidates.sanctions.screening import edition, screen_edition

    engine = make_engine(settings)
    with session_scope(engine, write=True) as session:
        try:
            campaign = edition(session, year=args.year)
        except DomainError as error:
            return _error(error.message, error.params)
        run = screen_edition(
            session,
            campaign=campaign,
            settings=settings,
            actor=None,
            now=utcnow(),
            progress=_progress("entries compared"),
        )
        session.commit()
    print(f"Screened {run.names} names of {campaign.year}: {run.open} possible matches open.")
    return 0


def _sanctions_matches(settings: Settings, args: argparse.Namespace) -> int:
    import csv

    from app.errors import DomainError
    from app.models import MatchStatus
    from app.services.candidates.sanctions.matches import MATCHES_CSV_HEADER, matches_table
    from app.services.candidates.sanctions.screening import edition
    from app.services.nominations.exports import neutralise

    engine = make_engine(settings)
    with session_scope(engine) as session:
        try:
            campaign = edition(session, year=args.year)
        except DomainError as error:
            return _error(error.message, error.params)
        assert campaign.id is not None
        status = None if args.status == "all" else MatchStatus(args.status)
        rows = matches_table(session, campaign_id=campaign.id, status=status)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(MATCHES_CSV_HEADER)
    for row in rows:
        writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row])
    return 0


def _nominations_import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.errors import DomainError
    from app.i18n import Translator
    from app.models import Channel
    from app.services.candidates.sanctions.screening import screen_pending
    from app.services.nominations.batch import check_batch, find_campaign, store_batch

    path = Path(args.file)
    if not path.is_file():
        return _error("%(path)s is not a file.", {"path": str(path)})
    # Row problems are told in the portal's default language, as its pages would.
    t = Translator(settings.default_locale)
    channel = Channel(args.channel)
    engine = make_engine(settings)
    now = utcnow()
    with path.open("rb") as file:
        # Checked on a plain read; SQLite's write lock is taken only to insert.
        with session_scope(engine) as reader:
            try:
                campaign = find_campaign(reader, year=args.year)
                checked = check_batch(
                    reader,
                    file=file,
                    channel=channel,
                    campaign=campaign,
                    actor=None,
                    t=t,
                    now=now,
                    base_url=settings.base_url,
                    default_locale=settings.default_locale,
                    progress=_progress("rows checked"),
                )
            except DomainError as error:
                return _error(t(error.message, **error.params), {})
        try:
            report = checked.report
            if not report.ok:
                for problem in report.errors:
                    column = f", {problem.column}" if problem.column else ""
                    print(f"line {problem.line}{column}: {problem.message}", file=sys.stderr)
                if report.error_count > len(report.errors):
                    print(f"… and {report.error_count - len(report.errors)} more", file=sys.stderr)
                print(
                    f"error: {report.error_count} problem(s); nothing was imported.",
                    file=sys.stderr,
                )
                return 1
            with session_scope(engine, write=True) as session:
                if report.already is None and report.skipped < report.rows:
                    try:
                        report = store_batch(
                            session,
                            checked,
                            file_name=path.name,
                            channel=channel,
                            campaign=campaign,
                            actor=None,
                            now=now,
                            progress=_progress("rows imported"),
                        )
                    except DomainError as error:
                        session.rollback()
                        return _error(t(error.message, **error.params), {})
                if report.already is not None:
                    when = report.already.created_at.isoformat(timespec="seconds")
                    print(f"This file was already imported on {when}: nothing was stored.")
                    return 0
                if report.batch is None:
                    print("Every row of this file had been imported before: nothing was stored.")
                    return 0
                session.commit()
                skipped = (
                    f" ({report.skipped} imported before, not stored again)"
                    if report.skipped
                    else ""
                )
                print(f"Imported {report.imported} nominations by {args.channel}{skipped}.")
                # The new nominees against the sanction registries, as after a web nomination.
                run = screen_pending(
                    session, campaign=campaign, settings=settings, actor=None, now=utcnow()
                )
                session.commit()
        finally:
            checked.close()
    if run.names:
        print(f"Screened {run.names} names: {run.found} new possible matches.")
    return 0


def _add_nominations(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from app.forms.nomination import INTAKE_CHANNELS

    nominations = commands.add_parser("nominations", help="nominations: batch intake")
    actions = nominations.add_subparsers(dest="nominations_command", required=True)
    load = actions.add_parser(
        "import", help="import a CSV batch in the intake template's columns, all or nothing"
    )
    load.add_argument("file", metavar="FILE.csv")
    load.add_argument("--channel", required=True, choices=[c.value for c in INTAKE_CHANNELS])
    load.add_argument("--year", type=int, help="the edition (default: the current one)")
    load.set_defaults(run=_nominations_import)


def _data_release(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import DomainError
    from app.services.results.data_releases import campaign_by_year, make_release
    from app.services.results.shared import current_campaign

    def report(message: str) -> None:
        print(f"{message}…", file=sys.stderr, flush=True)

    engine = make_engine(settings)
    with session_scope(engine, write=True) as session:
        try:
            campaign = (
                current_campaign(session)
                if args.year is None
                else campaign_by_year(session, args.year)
            )
        except DomainError as error:
            return _error(error.message, error.params)
        outcome = make_release(
            session,
            campaign=campaign,
            min_count=settings.open_data_min_count,
            made_by="command",
            note=args.note,
            now=utcnow(),
            progress=report,
        )
        session.commit()
    for change in outcome.changes:
        before = "-" if change.rows_before is None else change.rows_before
        after = "-" if change.rows_after is None else change.rows_after
        print(
            f"  {change.name}: rows {before} -> {after},"
            f" {change.added} added, {change.removed} removed"
        )
    if outcome.release is None:
        number = outcome.latest.number if outcome.latest else 0
        print(f"Open data {campaign.year}: nothing changed since release {number}.")
    else:
        print(f"Open data {campaign.year}: release {outcome.release.number} made.")
    return 0


def _add_data(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    data = commands.add_parser("data", help="open data: releases")
    actions = data.add_subparsers(dest="data_command", required=True)
    release = actions.add_parser("release", help="a new open-data snapshot now")
    release.add_argument("--year", type=int, help="the edition (default: the current one)")
    release.add_argument("--note", default="", help="why: a correction says what it corrects")
    release.set_defaults(run=_data_release)


def _vote_tally(settings: Settings, args: argparse.Namespace) -> int:
    import csv

    from app.errors import DomainError
    from app.services.candidates.sanctions.screening import edition
    from app.services.text import neutralise
    from app.services.voting.counting import TALLY_CSV_HEADER, tally_rows

    engine = make_engine(settings)
    with session_scope(engine) as session:
        try:
            campaign = edition(session, year=args.year)
        except DomainError as error:
            return _error(error.message, error.params)
        rows = tally_rows(session, campaign=campaign)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(TALLY_CSV_HEADER)
    for theme, finalist, confirmed, voided in rows:
        writer.writerow([neutralise(theme), neutralise(finalist), confirmed, voided])
    return 0


def _add_vote(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    vote = commands.add_parser("vote", help="the public vote (People's Choice)")
    actions = vote.add_subparsers(dest="vote_command", required=True)
    tally = actions.add_parser("tally", help="the public vote's count as CSV")
    tally.add_argument("--year", type=int, help="the edition (default: the current one)")
    tally.set_defaults(run=_vote_tally)


def _add_sanctions(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from app.models import ListFormat

    sanctions = commands.add_parser("sanctions", help="sanction registries: lists, screening")
    actions = sanctions.add_subparsers(dest="sanctions_command", required=True)
    load = actions.add_parser("import", help="import a registry list file")
    load.add_argument("source", choices=[f.value for f in ListFormat])
    load.add_argument("file")
    load.add_argument("--aliases", help="OFAC's ALT.CSV, with ofac-sdn")
    load.add_argument("--name", help="the list's name (a CSV list is named after its file)")
    load.set_defaults(run=_sanctions_import)
    screen = actions.add_parser("screen", help="screen an edition's nominees against the lists")
    screen.add_argument("--year", type=int, help="the edition (default: the current one)")
    screen.set_defaults(run=_sanctions_screen)
    matches = actions.add_parser("matches", help="possible matches as CSV")
    matches.add_argument("--year", type=int, help="the edition (default: the current one)")
    matches.add_argument(
        "--status", choices=["open", "confirmed", "dismissed", "all"], default="open"
    )
    matches.set_defaults(run=_sanctions_matches)


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
    seed = commands.add_parser(
        "seed-demo",
        help="a demo campaign open for nominations, or the current edition up to a stage",
    )
    seed.add_argument(
        "--stage",
        choices=["call", "screening", "vetting", "judging", "voting", "published"],
        help="build the current edition up to this stage, through the services (README)",
    )
    seed.set_defaults(run=_seed_demo)
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)
    commands.add_parser("send-mail", help="deliver what waits in the outbox").set_defaults(
        run=_send_mail
    )
    for name, help_text in (
        ("backup", "copy the database and the data directory into DIR (new or empty)"),
        ("restore", "bring a backup back into an empty data directory and database"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("dir", metavar="DIR")
        command.set_defaults(run=_backup)
    _add_sanctions(commands)
    _add_vote(commands)
    verify = commands.add_parser(
        "verify-log", help="recompute the audit chain and check its signed checkpoints"
    )
    verify.add_argument(
        "--checkpoints",
        metavar="URL_OR_FILE",
        help="also check the checkpoints published at /transparency/checkpoints.json",
    )
    verify.set_defaults(run=_verify_log)
    _add_nominations(commands)
    _add_data(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as error:
        # Unsafe or malformed settings: said plainly, without a traceback, and nothing runs.
        for problem in error.errors():
            message = problem["msg"].removeprefix("Value error, ")
            names = [str(part).upper() for part in problem["loc"]]
            print(f"error: {': '.join([*names, message])}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    return int(args.run(settings, args))


if __name__ == "__main__":
    sys.exit(main())
