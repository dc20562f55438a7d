"""``sizer catalog``: aggregate trace directories into a peer catalog (the bundled history)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from bot.settings import Settings

NAME = "catalog"
HELP = "build a peer catalog (JSON of per-service profiles) from trace directories"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("traces", nargs="+", type=Path, help="trace directories")
    parser.add_argument("--out", type=Path, required=True, help="catalog JSON to write")
    parser.add_argument("--source", help="text naming where the history comes from")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tools.catalog import PeerCatalog, catalog_from_traces
    from tools.traces import TraceError, load_trace

    try:
        traces = [load_trace(path) for path in args.traces]
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    catalog = catalog_from_traces(traces)
    if args.source:
        catalog = PeerCatalog(catalog.profiles, args.source)
    args.out.write_text(catalog.to_json(), encoding="utf-8")
    print(f"wrote {len(catalog)} profiles from {catalog.source} to {args.out}")
    return 0
