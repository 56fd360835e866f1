"""`esms-mock`: serve the mock (production WSGI server), and other commands for consumers."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mock_server.esms.callbacks import CallbackSettings
from mock_server.config import MockConfig
from mock_server.store.fixtures import DEMO_FIXTURES_PATH, FixtureError
from mock_server.store import StoreError
from mock_server.store.request_log import Retention

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

The control plane (journal, scenarios, clock, reset) is under /_mock/; see
spec/mock-control.openapi.yaml.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="esms-mock", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_installed_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the mock over HTTP", description=DESCRIPTION,
                                epilog=SERVE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    serve.add_argument("--db", default=None, metavar="PATH",
                       help="SQLite file holding all state (default: esms-mock.sqlite3 in the current directory)")
    serve.add_argument("--fixtures", default=None, metavar="FILE",
                       help="YAML or JSON fixtures to load at start (default: the stored ones, or the demo data)")
    serve.add_argument("--workers", type=int, default=2, help="worker processes (default: %(default)s)")
    serve.add_argument("--threads", type=int, default=4, help="threads per worker (default: %(default)s)")
    serve.add_argument("--delivery-delay", type=float, default=1.0, metavar="SECONDS",
                       help="time from acceptance to the final delivery state (default: %(default)s)")
    serve.add_argument("--callback-attempts", type=int, default=5, metavar="N",
                       help="attempts per callback before giving up (default: %(default)s)")
    serve.add_argument("--allow-callback-host", action="store_true",
                       help="also call CallbackUrls that are not on this machine (default: loopback only)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                       help="one line per event; debug adds one per request (default: %(default)s)")
    serve.add_argument("--temporary", action="store_true", help="use a fresh temporary database (deleted at exit)")
    serve.add_argument("--journal-max-requests", type=_whole_number, default=Retention.max_requests, metavar="N",
                       help="requests kept in the request journal, newest first; 0: no limit (default: %(default)s)")
    serve.add_argument("--journal-max-days", type=_days, default=Retention.max_days, metavar="DAYS",
                       help="days the request journal keeps a request, and accepted messages (never under the 7 "
                            "days of status queries); 0: no limit (default: %(default)s)")
    from mock_server.testing import verify as verify_command  # schemathesis itself is imported only when it runs

    verify = commands.add_parser("verify", help="check any eSMS-compatible server against the spec (schemathesis)",
                                 description=verify_command.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    verify_command.add_arguments(verify)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "verify":
        return verify_command.run_from_args(args)
    parser.print_help()
    return 2


def _whole_number(raw: str) -> int:
    """argparse type: a whole number from 0 (argparse reports the error in one line)."""
    if not raw.strip().isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number from 0, not {raw!r}")
    return int(raw)


def _days(raw: str) -> float:
    """argparse type: a number of days from 0."""
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not 0 <= days <= 36_600:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number of days from 0 to 36600, not {raw!r}")
    return days


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
    db = Path(temporary.name) / "esms-mock.sqlite3" if temporary else Path(args.db or "esms-mock.sqlite3")
    config = MockConfig(
        db_path=db,
        fixtures_path=args.fixtures,
        delivery_delay=args.delivery_delay,
        callbacks=CallbackSettings(max_attempts=args.callback_attempts, allow_any_host=args.allow_callback_host),
        journal=Retention(max_requests=args.journal_max_requests, max_days=args.journal_max_days),
    )
    from mock_server.server import build_served_app, serve_forever  # after logging is set up

    try:
        state = build_served_app(config)
    except (FixtureError, StoreError, OSError) as exc:
        print(f"esms-mock: cannot start: {exc}", file=sys.stderr)
        return 2
    state.store.close()  # never carry an open SQLite connection across the workers' fork
    base_url = f"http://{args.host}:{args.port}"
    try:
        serve_forever(state.api, host=args.host, port=args.port, workers=args.workers, threads=args.threads,
                      on_ready=lambda: _banner(base_url, db, args.fixtures))
    finally:
        if temporary:
            temporary.cleanup()
    return 0


def _banner(base_url: str, db: Path, fixtures: str | None) -> None:
    source = fixtures or f"stored, or the demo data ({DEMO_FIXTURES_PATH.name})"
    print(
        f"esms-mock ready on {base_url}  (database {db}, fixtures {source})\n"
        f"  demo credentials: ApiKey=DEMO_API_KEY SecretKey=DEMO_SECRET_KEY, OAID 4097311281936189049, template 205644 {{otp}}\n"
        f"  try: curl -s {base_url}/MainService.svc/json/GetBalance_json -d '{{\"ApiKey\":\"DEMO_API_KEY\",\"SecretKey\":\"DEMO_SECRET_KEY\"}}'\n"
        f"  control plane: {base_url}/_mock/health, /_mock/messages, /_mock/callbacks, /_mock/scenarios, /_mock/clock\n"
        f"  stop with Ctrl-C",
        flush=True,
    )




if __name__ == "__main__":
    raise SystemExit(main())
