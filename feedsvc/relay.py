"""Is the relay failing, or are the subscribers? Decided from the server's answers, purely (issue 14.4).

A permanent refusal (5xx) of one recipient is a bounce: that address is not mailed again. But a
relay that is misconfigured (relaying denied, a sender it will not take, a blocklisted IP)
refuses every recipient alike, and taken one by one those refusals would unsubscribe the
whole list. The sign of it: refusal after refusal, with nothing accepted in between, for
recipients at many different domains, which no one receiving domain can explain.

So a digest run holds its refusals back (nobody bounced yet) while they come in a row; the
first acceptance shows the relay works and turns them into bounces; `threshold` different
domains refused in a row instead means the relay is failing: the run pauses and the held
refusals go back to be sent again later. runs/batch.py applies the verdicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

DEFAULT_THRESHOLD = 20


def recipient_domain(address: str) -> str:
    """The domain an address is delivered to, as receiving domains are told apart."""
    return address.rpartition("@")[2].strip().rstrip(".").lower()


def relay_failing(refused_domains: Sequence[str], threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Whether permanent refusals in a row (no acceptance between) at these recipient domains mean
    the relay is failing: `threshold` of them at as many different domains. 0 never decides so.

    Refusals at a domain already in the row add no evidence (one domain refusing many of its own
    addresses is that domain's doing), but they do not end the row either: only an acceptance does.
    """
    return threshold > 0 and len(set(refused_domains)) >= threshold


@dataclasses.dataclass(frozen=True)
class RefusalRow:
    """The permanent refusals since the server last accepted a message, in the order they came.

    Each entry is (delivery id, recipient domain, the server's answer). Immutable: every answer
    gives a new row, so a verdict is a function of the answers alone.
    """

    refused: tuple[tuple[int, str, str], ...] = ()

    def after_refusal(self, delivery_id: int, address: str, answer: str) -> RefusalRow:
        return RefusalRow((*self.refused, (delivery_id, recipient_domain(address), answer)))

    def failing(self, threshold: int = DEFAULT_THRESHOLD) -> bool:
        return relay_failing([domain for _, domain, _ in self.refused], threshold)

    def summary(self) -> str:
        """The operator's one line: how many refusals, how many domains, and the last answer."""
        domains = len({domain for _, domain, _ in self.refused})
        last = self.refused[-1][2] if self.refused else ""
        return (f"the relay refused {len(self.refused)} messages in a row, for {domains} different "
                f"recipient domains (last answer: {last})")
