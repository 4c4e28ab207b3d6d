"""Bounces recorded: each report matched to a subscriber, stored once, the policy applied; the mailbox drained.

Decide, then do: dsn.py and webhooks.py read reports, policy.py decides; this module is the thin
I/O between them and storage. The steps for one report (`BounceProcessor.record`):

  1. who: the VERP token's subscriber and delivery, else the delivery whose Message-ID the report
     quotes, else the subscriber with the address it names (storage.bounce_target);
  2. the event, stored once: (source, key, address) is unique, so a report read twice counts once;
  3. the address suppressed when policy.suppression_reason says so (its soft bounces are read
     after step 2 commits, so of two processes recording at once the later one sees both);
  4. for a complaint, its run's complaint rate: past Gmail's limit, sending pauses (policy.should_pause)
     and the operator is told (a WARNING log line; /admin shows a banner).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from ..clock import Clock
from ..config import Settings
from ..storage import Storage
from .dsn import read_message
from .events import BounceReport
from .mailbox import Mailbox, open_mailbox
from .mailbox_url import parse_mailbox
from .policy import SOFT_WINDOW, pause_reason, should_pause, suppression_reason
from .verp import ReturnPaths, return_paths_for

log = logging.getLogger("feedsvc.bounces")

Recorded = str  # "new", "repeated" (recorded before) or "unmatched" (no address to hold it against)


@dataclasses.dataclass
class BounceTally:
    """What one pass over the mailbox (or one webhook call) did."""

    read: int = 0  # messages read
    hard: int = 0
    soft: int = 0
    complaints: int = 0
    repeated: int = 0  # events recorded before (a message or notification seen twice)
    unmatched: int = 0  # reports naming no address we can hold
    unrecognised: int = 0  # messages that are no bounce or complaint
    suppressed: list[str] = dataclasses.field(default_factory=list)  # addresses suppressed by this pass
    paused: str | None = None  # why this pass paused sending

    def line(self) -> str:
        return (f"bounces: {self.read} messages read: {self.hard} hard, {self.soft} soft, "
                f"{self.complaints} complaints, {self.repeated} already counted, {self.unmatched} unmatched, "
                f"{self.unrecognised} unrecognised; {len(self.suppressed)} addresses suppressed"
                + (f"; SENDING PAUSED: {self.paused}" if self.paused else ""))


class BounceProcessor:
    """Records bounce reports for one process; any thread may call record()."""

    def __init__(self, storage: Storage, settings: Settings, clock: Clock, *,
                 return_paths: ReturnPaths | None = None) -> None:
        self.storage, self.settings, self.clock = storage, settings, clock
        self.return_paths = return_paths or return_paths_for(settings)

    def record(self, report: BounceReport, tally: BounceTally | None = None) -> Recorded:
        """Store one report, suppress its address if the policy says so, pause sending if its run says so."""
        tally = tally if tally is not None else BounceTally()
        now = self.clock()
        occurred = min(report.occurred_at or now, now)  # a report from the future is a wrong clock
        token = report.token
        target = self.storage.bounce_target(
            subscriber_id=token.subscriber_id if token else None,
            delivery_id=token.delivery_id if token else None,
            message_id=report.message_id, address=report.address, occurred_at=occurred,
            guess_delivery=token is None)  # a token for a confirmation email names no digest
        if target.email is None:
            tally.unmatched += 1
            log.info("a %s %s names no address we know (%s); ignored", report.source, report.kind, report.detail)
            return "unmatched"
        event = self.storage.record_bounce_event(source=report.source, key=report.key, kind=report.kind,
                                                 target=target, detail=report.detail, occurred_at=occurred,
                                                 now=now)
        if event is None:
            tally.repeated += 1
            return "repeated"
        if report.kind == "hard":
            tally.hard += 1
        elif report.kind == "soft":
            tally.soft += 1
        else:
            tally.complaints += 1
        history = self.storage.soft_bounces(target.email, now - SOFT_WINDOW) if report.kind == "soft" else []
        reason = suppression_reason(report.kind, history, now, report.detail)
        if reason is not None and self.storage.suppress(target.email, report.kind, reason, now):
            tally.suppressed.append(target.email)
            log.info("suppressed %s: %s", target.email, reason)
        if report.kind == "complaint" and target.run_id is not None:
            self._check_run(target.run_id, tally)
        return "new"

    def _check_run(self, run_id: int, tally: BounceTally) -> None:
        rates = self.storage.run_rates([run_id])[run_id]
        if not should_pause(rates) or self.storage.pause_acknowledged(run_id):
            return
        reason = pause_reason(rates)
        if self.storage.pause_sending(reason, self.clock(), run_id):
            tally.paused = reason
            log.warning("SENDING PAUSED: %s. No digest goes out until an operator resumes it "
                        "(`feedsvc digest --resume`, or the button on /admin)", reason)

    # -- the mailbox --------------------------------------------------------------------------

    def read_mailbox(self, mailbox: Mailbox | None = None, *,
                     progress: Callable[[int, int], None] | None = None) -> BounceTally:
        """Read every message of FEEDSVC_BOUNCE_MAILBOX (or `mailbox`), record it, file it away."""
        if mailbox is None:
            if not self.settings.bounce_mailbox:
                raise ValueError("FEEDSVC_BOUNCE_MAILBOX is not set")
            mailbox = open_mailbox(parse_mailbox(self.settings.bounce_mailbox))
        tally = BounceTally()
        try:
            total = mailbox.count()
            for handle, raw in mailbox.messages():
                reading = read_message(raw, self.return_paths)
                tally.read += 1
                if not reading.reports:
                    tally.unrecognised += 1
                    log.info("bounce mailbox: %s is not a bounce or complaint (%s); filed as unrecognised",
                             reading.key, reading.why_not)
                for report in reading.reports:
                    self.record(report, tally)
                # Only now, with its events committed: a crash before this reads it again, at no cost.
                mailbox.file(handle, "processed" if reading.reports else "unrecognised")
                if progress is not None:
                    progress(tally.read, max(total, tally.read))
        finally:
            mailbox.close()
        if tally.read:
            log.info(tally.line())
        return tally
