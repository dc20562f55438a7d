"""The running bot from the Slack tests: deployment checks drive the same real runtime."""

from tests.slack.conftest import access_file, emulator, rp, start_bot

__all__ = ["access_file", "emulator", "rp", "start_bot"]
