"""``sizer export-finetune OUT.jsonl``: verified outcomes as OpenAI chat fine-tuning examples.

One line per outcome, ``{"messages": [system, user, assistant]}``: the service's metadata and
its peers' evidence in, the size its own usage proved right (and why) out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from bot.settings import Settings

NAME = "export-finetune"
HELP = "write verified outcomes as OpenAI chat fine-tuning examples (JSONL)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="OUT.jsonl", type=Path, help="file to write")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feedback.outcomes import finetune_examples
    from bot.wiring import Components, StartupError

    out: Path = args.out
    if out.suffix != ".jsonl":
        raise UsageError(f"{out}: the file must end in .jsonl")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a directory")
    try:
        outcomes = Components(settings).outcomes
        lines = [json.dumps(e, sort_keys=True) for e in finetune_examples(outcomes.all())]
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} example(s) to {out}", file=sys.stderr)
    return 0
