from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib

from tests.approvals.doubles import redis_prefix


@pytest.fixture
def rp() -> Iterator[tuple[redis_lib.Redis, str]]:
    with redis_prefix() as pair:
        yield pair
