"""The real parts the deployment checks drive: the running bot from the Slack tests, the
session's Prometheus and the Terraform engine launcher from the executor tests."""

from tests.executors.conftest import terraform_bin
from tests.prometheus.conftest import prom
from tests.slack.conftest import access_file, emulator, rp, start_bot

__all__ = ["access_file", "emulator", "prom", "rp", "start_bot", "terraform_bin"]
