"""`esms-mock`: serve the mock (production WSGI server), and other commands for consumers."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from mock_server.esms.callbacks import CallbackSettings
from mock_server.config import MockConfig
from mock_server import startup
from mock_server.startup import (OneLineArgumentParser, count_at_least_one, count_not_negative, days_not_negative,
                                 port_number, seconds_not_negative, seconds_positive)
from mock_server.store import StoreError, is_database_url
from mock_server.store.fixtures import FixtureError
from mock_server.store.request_log import Retention

DEMO_CREDENTIALS = ("DEMO_API_KEY", "DEMO_SECRET_KEY")  # in demo_fixtures.yaml

DESCRIPTION = """\
An offline, stateful stand-in for the eSMS.vn Zalo API: answers every operation of
spec/esms-zalo.openapi.yaml like eSMS does (codes 100, 101 and the whole error table),
remembers what was sent, simulates delivery and calls your CallbackUrl.
"""

SERVE_EPILOG = """\
examples:
  esms-mock serve                          demo data, http://127.0.0.1:8080
  esms-mock serve --fixtures my.yaml       your accounts, OAs and templates
  esms-mock serve --db /tmp/esms.sqlite3   keep state in that file (kept across restarts)
  esms-mock serve --db postgresql://user@db.internal/esms
                                           state in PostgreSQL, shared by every instance given
                                           the same URL (README: Running several instances)

fixtures and the database:
  Without --fixtures a new database serves the demo data, and an existing one the fixtures
  stored in it. --fixtures FILE replaces the stored fixtures and resets every balance to the
  file's value; the journal (messages, callbacks, RequestIds, quota use) is kept. To start
  from nothing as well, use --temporary or POST /_mock/reset.

  One server per database: a second server on the same --db is refused, naming the first
  one's PID. Servers started with --share-db share it on purpose (one state, one journal);
  then --fixtures is refused while another server uses the database, so that it never
  replaces what a running server serves (use PUT /_mock/fixtures instead).

The control plane (journal, scenarios, clock, reset) is under /_mock/; GET / lists it, and
/_mock/openapi/mock-control.yaml is its spec.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog="esms-mock", description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_installed_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineArgumentParser)
    serve = commands.add_parser("serve", help="serve the mock over HTTP", description=DESCRIPTION,
                                epilog=SERVE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=port_number, default=8080, help="port to listen on, 1-65535 (default: %(default)s)")
    serve.add_argument("--db", default=None, metavar="PATH|URL",
                       help="SQLite file holding all state (default: esms-mock.sqlite3 in the current directory), "
                            "or a postgresql:// URL shared by several instances (needs the extra `postgresql`)")
    serve.add_argument("--fixtures", default=None, metavar="FILE",
                       help="YAML or JSON fixtures to load at start: they replace the stored ones and reset "
                            "balances to the file's values; the journal is kept (default: the stored "
                            "fixtures, or the demo data in a new database)")
    serve.add_argument("--share-db", action="store_true",
                       help="let other servers started with --share-db use the same --db (refused by default)")
    serve.add_argument("--workers", type=count_at_least_one, default=1,
                       help="worker processes, one event loop each (default: %(default)s)")
    serve.add_argument("--threads", type=count_at_least_one, default=4,
                       help="threads per worker for the control plane (/_mock/), 404 and 405 (default: %(default)s)")
    serve.add_argument("--read-timeout", type=seconds_positive, default=10.0, metavar="SECONDS",
                       help="give up on a caller whose headers or body do not arrive within this time: 408, "
                            "connection closed (default: %(default)s)")
    serve.add_argument("--max-connections", type=count_at_least_one, default=1024, metavar="N",
                       help="requests in progress at once per worker; more wait in the listen backlog (default: %(default)s)")
    serve.add_argument("--delivery-delay", type=seconds_not_negative, default=1.0, metavar="SECONDS",
                       help="time from acceptance to the final delivery state, 0-86400 (default: %(default)s)")
    serve.add_argument("--callback-attempts", type=count_at_least_one, default=5, metavar="N",
                       help="attempts per callback before giving up (default: %(default)s)")
    serve.add_argument("--allow-callback-host", action="store_true",
                       help="also call CallbackUrls that are not on this machine (default: loopback only)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                       help="one line per event; debug adds one per request (default: %(default)s)")
    serve.add_argument("--temporary", action="store_true", help="use a fresh temporary database (deleted at exit)")
    serve.add_argument("--journal-max-requests", type=count_not_negative, default=Retention.max_requests, metavar="N",
                       help="requests kept in the request journal, newest first; 0: no limit (default: %(default)s)")
    serve.add_argument("--journal-max-days", type=days_not_negative, default=Retention.max_days, metavar="DAYS",
                       help="days the request journal keeps a request, and accepted messages (never under the 7 "
                            "days of status queries); 0: no limit (default: %(default)s)")
    from mock_server.testing import verify as verify_command  # schemathesis itself is imported only when it runs

    verify = commands.add_parser("verify", help="check any eSMS-compatible server against the spec (schemathesis)",
                                 description=verify_command.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    verify_command.add_arguments(verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "verify":
        from mock_server.testing import verify as verify_command

        return verify_command.run_from_args(args)
    parser.print_help()
    return 2


def _installed_version() -> str:
    """The version of the installed distribution (pyproject.toml's, as pip recorded it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("esms-zalo-mock")
    except PackageNotFoundError:  # imported from a checkout that was never installed
        return "(not installed)"


class _QuietScenarioDrops(logging.Filter):
    """The server logs a traceback when a `drop` scenario breaks a response off on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionAbortedError))


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in ("_granian", "granian", "granian.server"):
        logging.getLogger(name).addFilter(_QuietScenarioDrops())
    temporary = tempfile.TemporaryDirectory(prefix="esms-mock-") if args.temporary else None
    try:
        db: Path | str = (Path(temporary.name) / "esms-mock.sqlite3" if temporary
                          else args.db if is_database_url(args.db) else Path(args.db or "esms-mock.sqlite3"))
        code, served = _serve_on(args, db)
    finally:
        if temporary:
            temporary.cleanup()
    if served:
        # The server has stopped its workers. Granian leaves a watcher thread per worker that is
        # not a daemon and held the interpreter's exit for over a second after Ctrl-C; nothing is
        # left to clean up, so end now.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _serve_on(args: argparse.Namespace, db: Path | str) -> tuple[int, bool]:
    """(exit code, whether it served): the start-up checks, then serving until interrupted."""
    config = MockConfig(
        db_path=db,
        fixtures_path=args.fixtures,
        delivery_delay=args.delivery_delay,
        callbacks=CallbackSettings(max_attempts=args.callback_attempts, allow_any_host=args.allow_callback_host),
        journal=Retention(max_requests=args.journal_max_requests, max_days=args.journal_max_days),
    )
    # Every check before the first byte is served; the claims are held until the process ends
    # (the forked workers inherit them).
    try:
        startup.check_host(args.host, args.port)
        if args.fixtures is not None:
            startup.check_fixtures_file(args.fixtures)
        if isinstance(db, Path):  # SQLite: one server per file unless shared; PostgreSQL is shared by design
            database: startup.Claim | None = startup.claim_database(db, share=args.share_db,
                                                                    loads_fixtures=args.fixtures is not None)
            startup.check_database_opens(db)
        else:
            database = None
        port = startup.claim_port(args.host, args.port)
    except startup.StartupError as exc:
        return startup.fail(str(exc)), False
    from mock_server.server import build_served_app, serve_forever  # after logging is set up

    try:
        state = build_served_app(config)
    except (FixtureError, StoreError, OSError, sqlite3.Error, RecursionError) as exc:
        return startup.fail(startup.one_line(exc)), False
    except Exception as exc:  # psycopg.Error (optional dependency): the database went away while loading
        if type(exc).__module__.split(".")[0] != "psycopg":
            raise
        return startup.fail(startup.one_line(exc)), False
    serves_demo = state.fixtures_source == "demo" or state.store.fixtures().account(*DEMO_CREDENTIALS) is not None
    source = {"file": f"from {args.fixtures}", "demo": "the demo data",
              "stored": f"stored in {state.store.path}" + (" (the demo data)" if serves_demo else "")}[state.fixtures_source]
    shown_db = state.store.path  # a PostgreSQL URL without its password
    state.store.close()  # never carry an open SQLite connection across the workers' fork
    base_url = f"http://{startup.local_address(args.host)}:{args.port}"

    refusal: list[str] = []  # why it stopped itself, if it did

    def stop_because(reason: str) -> None:
        refusal.append(reason)
        print(f"esms-mock: stopping: {reason}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)  # Granian stops its workers as on Ctrl-C

    def when_listening() -> None:
        # Called by the server once the port accepts connections; the banner waits until the
        # answer comes from this very process.
        startup.wait_until_this_instance_answers(
            args.host, args.port, config.instance_id,
            on_ready=lambda: _banner(base_url, shown_db, source, serves_demo),
            on_other=stop_because)

    try:
        serve_forever(state, host=args.host, port=args.port, workers=args.workers, threads=args.threads,
                      read_timeout=args.read_timeout, max_connections=args.max_connections,
                      on_ready=lambda: threading.Thread(target=when_listening, daemon=True).start())
    finally:
        port.release()
        if database is not None:
            database.release()
    return (2 if refusal else 0), True


def _banner(base_url: str, db: Path | str, source: str, serves_demo: bool) -> None:
    lines = [f"esms-mock ready on {base_url}  (database {db}, fixtures {source})",
             f"  inbox: {base_url}/_mock/ui/  (every message as the phone shows it; API docs at /_mock/ui/docs)"]
    if serves_demo:
        lines += [
            "  demo credentials: ApiKey=DEMO_API_KEY SecretKey=DEMO_SECRET_KEY, OAID 4097311281936189049, template 205644 {otp}",
            f"  try: curl -s {base_url}/MainService.svc/json/GetBalance_json -d '{{\"ApiKey\":\"DEMO_API_KEY\",\"SecretKey\":\"DEMO_SECRET_KEY\"}}'",
        ]
    lines += [f"  control plane: {base_url}/_mock/ (health, messages, callbacks, scenarios, clock)",
              "  stop with Ctrl-C"]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
