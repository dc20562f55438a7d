"""``python -m bot.observability.healthcheck``: the image's HEALTHCHECK, exit 0 when live.

It asks this container's own ``/healthz`` on ``SIZER_HEALTH_PORT``, with nothing but the
standard library, so the check costs no more than starting Python.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def main() -> int:
    from bot.settings import RuntimeSettings

    port = RuntimeSettings().health_port
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: /healthz on port {port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
