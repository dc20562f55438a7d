"""``sizer config-reference``: the table of every setting, generated from the settings model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from bot.settings import Settings

NAME = "config-reference"
HELP = "print the configuration reference (every variable, default, meaning) as Markdown"


def register(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--write", type=Path, metavar="FILE", help="replace the table in FILE")
    what.add_argument(
        "--check", type=Path, metavar="FILE", help="exit 1 if the table in FILE is out of date"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.config_reference import replace_table, table

    target: Path | None = args.write or args.check
    if target is None:
        sys.stdout.write(table())
        return 0
    try:
        current = target.read_text(encoding="utf-8")
        wanted = replace_table(current)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{target}: {exc}") from None
    if args.check:
        if wanted != current:
            print(
                f"{target}: configuration reference is out of date; run "
                f"`sizer config-reference --write {target}`",
                file=sys.stderr,
            )
            return 1
        return 0
    target.write_text(wanted, encoding="utf-8")
    return 0
