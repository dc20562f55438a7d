from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis as redis_lib

from bot.agent.memory import ThreadMemory
from tests.emulators.openai_api import OpenAIEmulator


@pytest.fixture
def llm() -> Iterator[OpenAIEmulator]:
    emulator = OpenAIEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def memory() -> Iterator[ThreadMemory]:
    client = redis_lib.Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"test-agent-{secrets.token_hex(4)}:"
    yield ThreadMemory(client, prefix, ttl_s=60)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()
