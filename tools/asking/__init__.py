"""Understanding a size request however it is asked: the grammar, plain language, a thread.

Everything ends in a :class:`Draft`, and a complete draft in one
:class:`~tools.propose.SizeRequest`; peers named loosely ("the cart service") are matched to
known workloads by :func:`resolve_peer`.
"""

from tools.asking.draft import Draft, Slot, request_error
from tools.asking.flags import FlagError, read_flags, split_flags
from tools.asking.loads import Load, LoadError, find_load, parse_range
from tools.asking.names import is_label, name_problem
from tools.asking.peers import PeerMatch, resolve_peer
from tools.asking.reading import clean, read

__all__ = [
    "Draft",
    "FlagError",
    "Load",
    "LoadError",
    "PeerMatch",
    "Slot",
    "clean",
    "find_load",
    "is_label",
    "name_problem",
    "parse_range",
    "read",
    "read_flags",
    "request_error",
    "resolve_peer",
    "split_flags",
]
