"""``python -m bot``: the same as the ``sizer`` command."""

from bot.cli import main

raise SystemExit(main())
