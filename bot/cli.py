"""The ``sizer`` command line: one sub-command per module in :mod:`bot.commands`.

Every command gets the one :class:`~bot.settings.Settings` object, built here. User errors
(:class:`UsageError` or a ``ValueError`` subclass raised while reading input) print one line
that says what to fix and exit with status 2; nothing prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from pydantic import ValidationError

from bot.settings import Settings, UnknownSetting

COMMANDS = (
    "propose",
    "backtest",
    "catalog",
    "load_trace",
    "verify",
    "serve",
    "worker",
    "ask",
    "audit",
    "export_finetune",
)


class UsageError(Exception):
    """Bad input from the person at the terminal; the message says what to fix."""


class Command(Protocol):
    NAME: str
    HELP: str

    def register(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, settings: Settings) -> int: ...


def _available() -> list[Command]:
    found: list[Command] = []
    for module_name in COMMANDS:
        try:
            module = importlib.import_module(f"bot.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bot.commands.{module_name}":
                continue
            raise
        found.append(module)
    return found


def build_parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sizer", description="Size Kubernetes workloads from evidence."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        command.register(sub.add_parser(command.NAME, help=command.HELP, description=command.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    commands = _available()
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    try:
        settings = Settings.load()
    except UnknownSetting as exc:
        print(f"sizer: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "__".join(str(p) for p in error["loc"]).upper()
        print(f"sizer: setting {where}: {error['msg']}", file=sys.stderr)
        return 2
    command = next(c for c in commands if args.command == c.NAME)
    try:
        return command.run(args, settings)
    except UsageError as exc:
        print(f"sizer {command.NAME}: {exc}", file=sys.stderr)
        return 2
