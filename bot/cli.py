"""The ``sizer`` command line: one sub-command per module in :mod:`bot.commands`.

Every command gets the one :class:`~bot.settings.Settings` object, built here. User errors
(:class:`UsageError` or a ``ValueError`` subclass raised while reading input) print one line
that says what to fix and exit with status 2; nothing prints a traceback for bad input.

Start-up stays cheap: command modules import only the standard library at the top, only
the chosen command registers its arguments, and the settings (pydantic) are loaded after
the arguments parsed — so ``sizer --help`` loads neither the engine nor any client.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.settings import Settings

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
    "config_reference",
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


def build_parser(commands: Sequence[Command], chosen: str | None = None) -> argparse.ArgumentParser:
    """Every command by name and help; arguments only for ``chosen`` (None: for all)."""
    parser = argparse.ArgumentParser(
        prog="sizer", description="Size Kubernetes workloads from evidence."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        command_parser = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        if chosen is None or chosen == command.NAME:
            command.register(command_parser)
            command_parser.set_defaults(command_parser=command_parser)
    return parser


def _refuse_unknown(args: argparse.Namespace, extra: Sequence[str]) -> None:
    """A mistyped flag is reported with its command's usage and the flag it is closest to
    (argparse alone shows the top-level usage, which does not list the command's flags)."""
    import difflib

    command_parser: argparse.ArgumentParser = args.command_parser
    flags = [f for action in command_parser._actions for f in action.option_strings]
    hints = []
    for word in extra:
        close = difflib.get_close_matches(word.split("=", 1)[0], flags, n=1)
        if word.startswith("-") and close:
            hints.append(f"{word}: did you mean {close[0]}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    command_parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def _chosen(argv: Sequence[str], names: set[str]) -> str:
    """The command word in ``argv``; '' when there is none (``sizer --help``) or it is unknown."""
    word = next((a for a in argv if not a.startswith("-")), "")
    return word if word in names else ""


def main(argv: Sequence[str] | None = None) -> int:
    commands = _available()
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(commands, _chosen(words, {c.NAME for c in commands}))
    args, extra = parser.parse_known_args(words)
    if extra:
        _refuse_unknown(args, extra)

    from pydantic import ValidationError

    from bot.settings import Settings, UnknownSetting

    try:
        settings = Settings.load()
    except UnknownSetting as exc:
        print(f"sizer: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "__".join(str(p) for p in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        print(f"sizer: setting {where}: {message}", file=sys.stderr)
        return 2
    for name, close in Settings.unread(os.environ):
        hint = f" (did you mean {close}?)" if close else ""
        print(
            f"sizer: warning: {name} is not a setting Sizer reads{hint}; ignored", file=sys.stderr
        )
    command = next(c for c in commands if args.command == c.NAME)
    try:
        return command.run(args, settings)
    except UsageError as exc:
        print(f"sizer {command.NAME}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`sizer … | head`): stop quietly, as shells expect.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    # `python -m bot.cli …` runs the same entry point as `sizer …` (this module, imported
    # under its own name, so commands and main share one UsageError)
    from bot.cli import main as _main

    raise SystemExit(_main())
