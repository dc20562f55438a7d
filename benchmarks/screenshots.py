"""Render every card state to PNG with headless Chromium: docs/screenshots/<state>.png.

    python -m benchmarks.screenshots [--out docs/screenshots] [--chromium chromium]

Needs Redis on 127.0.0.1 (the states come from the real service) and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.slack.blockkit_html import page
from tests.slack.states import card_states

# Cropped to the content, so the PNGs stay small.
SIZES = {
    "manifest": "720,300",
    "reject-form": "720,360",
    "home": "720,340",
    "does-not-fit": "800,690",
    "waiting": "800,560",
    "rightsize-rejected": "800,600",
    "rejected-with-reason": "800,600",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args(argv)
    binary = shutil.which(args.chromium)
    if binary is None:
        print(f"{args.chromium} not found; apt-get install chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, payload in card_states().items():
            source = Path(tmp) / f"{name}.html"
            source.write_text(page(payload), encoding="utf-8")
            target = (args.out / f"{name}.png").resolve()
            subprocess.run(
                [
                    binary,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--hide-scrollbars",
                    f"--screenshot={target}",
                    f"--window-size={SIZES.get(name, '800,560')}",
                    source.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
