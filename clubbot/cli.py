"""`python -m bot`: the command line (names fixed by CONTRACT.md).

    python -m bot [serve] [--workers N] [--host HOST] [--port PORT]
    python -m bot migrate
    python -m bot staff add NAME --role admin|marketer|clerk
    python -m bot staff passwd NAME
    python -m bot staff list | revoke NAME | rotate NAME
    python -m bot menu install [--dry-run] | show
    python -m bot chat [--openid ID] [--url URL]

With no command it serves. Configuration comes from the environment and `.env`; `--host` and
`--port` override HOST and PORT. A configuration error prints its message and exits with 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from config import ConfigError, Settings

log = logging.getLogger("bot")

EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="clubbot: the WeChat member club service"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the WeChat callback (the default)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing the port (N > 1 needs REDIS_URL and PostgreSQL)",
    )
    serve.add_argument("--host", help="listen address (default: HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default: PORT, else 8080)")
    serve.set_defaults(run=run_serve)

    migrate = commands.add_parser("migrate", help="apply the database migrations")
    migrate.set_defaults(run=run_migrate)

    chat = commands.add_parser(
        "chat", help="a terminal chat with a running server, sending what WeChat would send"
    )
    chat.add_argument("--openid", help="the member you are (default: o_chat_demo)")
    chat.add_argument("--url", help="the server (default: http://HOST:PORT)")
    chat.set_defaults(run=run_chat)

    staff = commands.add_parser("staff", help="staff accounts of the staff API")
    staff_commands = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = staff_commands.add_parser("add", help="create an account and print its token once")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("admin", "marketer", "clerk"))
    add.set_defaults(run=run_staff_add)
    passwd = staff_commands.add_parser("passwd", help="set an account's console password")
    passwd.add_argument("name")
    passwd.set_defaults(run=run_staff_passwd)
    staff_commands.add_parser("list", help="list accounts, token expiry, last use").set_defaults(
        run=run_staff_command
    )
    for action, text in (("revoke", "revoke a token at once"), ("rotate", "print a new token")):
        sub = staff_commands.add_parser(action, help=text)
        sub.add_argument("name")
        sub.set_defaults(run=run_staff_command)

    menu = commands.add_parser("menu", help="install or show the Official Account's menu")
    menu.add_argument("menu_args", nargs=argparse.REMAINDER, metavar="install [--dry-run] | show")
    menu.set_defaults(run=run_menu)
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    args = list(argv)
    # No command, or only serve's options: serve.
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help")):
        args.insert(0, "serve")
    return build_parser().parse_args(args)


def load_settings(**overrides: Any) -> Settings:
    return Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})


def run_serve(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.serve import check_workers, serve
    from clubbot.embedded import embedded_services
    from clubbot.web import create_app

    settings = load_settings(host=args.host, port=args.port)
    setup_logging(settings)
    check_workers(settings, args.workers)
    return serve(settings, create_app, workers=args.workers, background=embedded_services(settings))


def run_migrate(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from club.db.migrate import migrate

    settings = load_settings()
    setup_logging(settings)
    asyncio.run(migrate(settings.database_url, timezone=settings.club_tz))
    log.info("database is up to date")
    return 0


def run_chat(args: argparse.Namespace) -> int:
    from bot.chat import main_chat

    argv = [
        *(["--openid", args.openid] if args.openid else []),
        *(["--url", args.url] if args.url else []),
    ]
    return main_chat(argv)


def run_staff_add(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.serve import prepare_sqlite_file
    from bot.staff_api.cli import staff_add
    from club.staff.accounts import StaffError

    settings = load_settings()
    setup_logging(settings)
    prepare_sqlite_file(settings.database_url)
    try:
        token = staff_add(settings, args.name, args.role)
    except StaffError as exc:
        print(f"clubbot: {exc}", file=sys.stderr)
        return 1
    print(f"staff account {args.name!r} ({args.role}) created; its API token, shown only once:")
    print(token)
    return 0


def run_staff_passwd(args: argparse.Namespace) -> int:
    from bot.staff_api.cli import run_staff_passwd as run

    return run(args)


def run_staff_command(args: argparse.Namespace) -> int:
    from bot.staff_api.cli import run_staff_command as run

    return run(args)


def run_menu(args: argparse.Namespace) -> int:
    from bot.menu_cli import main_menu

    return main_menu(args.menu_args or ["--help"])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        build_parser().print_help()
        return EXIT_CONFIG
    try:
        return run(args)
    except ConfigError as exc:
        print(f"clubbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
