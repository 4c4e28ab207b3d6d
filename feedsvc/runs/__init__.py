"""Runs: the work that takes queued mail from the database and puts it through transport/.

- `postman`: digest runs, planned once per period (`Postman.scheduled_run`, `manual_runs`) and
  sent by `Postman.send_pending`, which resumes whatever a dead sender left (the ledger protocol
  is in its docstring).
- `batch`: one sending pass with named steps (claim, hand_over, accepted, refused, in_doubt,
  release, release_unanswered) and which thread runs each.
- `ledger`: the ledger thread that commits claims while the next group renders.
- `render`: a planned delivery rendered as its email (digest.py does the pure part).
- `confirmations`: the queue of double opt-in emails, drained by the same sender processes.

The ledger's states and steps are named once, in deliveries.py (`DeliveryState`, CLAIM, ACCEPTED…).
"""
