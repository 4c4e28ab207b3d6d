"""The parts every state machine of feedsvc is made of: a named transition, and a stored state read back.

Pure, like model.py: the machines themselves live with their data (a release's in model.py, a
delivery's in deliveries.py, a subscriber's in subscribers.py) and storage applies their transitions.
"""

from __future__ import annotations

import dataclasses
from typing import Generic, TypeVar

State = TypeVar("State", bound=str)


@dataclasses.dataclass(frozen=True)  # no slots: a subclass (deliveries.LedgerStep) adds a field
class Transition(Generic[State]):
    """One named move of a state machine: a row in one of `source` moves to `target`."""

    name: str
    source: tuple[State, ...]
    target: State


def parse_state(value: str, states: tuple[State, ...]) -> State:
    """`value` as one of `states` (a stored string read back); ValueError when it is none of them."""
    for state in states:
        if state == value:
            return state
    raise ValueError(f"unknown state {value!r}: expected one of {', '.join(states)}")
