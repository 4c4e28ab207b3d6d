"""feedsvc.relay: is the relay failing, or are the subscribers? Pure decisions, each case inline."""

from __future__ import annotations

from feedsvc.relay import DEFAULT_THRESHOLD, RefusalRow, recipient_domain, relay_failing


def domains(n: int) -> list[str]:
    return [f"site{i}.example" for i in range(n)]


def test_as_many_different_domains_refused_in_a_row_as_the_threshold_is_a_failing_relay() -> None:
    assert DEFAULT_THRESHOLD == 20
    assert not relay_failing(domains(19))
    assert relay_failing(domains(20))
    assert relay_failing(domains(35))
    assert relay_failing(domains(3), threshold=3) and not relay_failing(domains(2), threshold=3)


def test_one_domain_refusing_many_of_its_own_addresses_is_that_domains_doing() -> None:
    assert not relay_failing(["defunct.example"] * 500)
    # Repeats neither count nor break the row: 19 domains and a crowd at one of them is not yet 20.
    assert not relay_failing(domains(19) + ["site0.example"] * 50)
    assert relay_failing(["gmail.example"] * 10 + domains(20))


def test_zero_never_pauses_and_nothing_refused_is_no_failure() -> None:
    assert not relay_failing(domains(1000), threshold=0)
    assert not relay_failing([])


def test_domains_are_compared_as_receiving_domains() -> None:
    assert recipient_domain("Reader@Example.ORG") == "example.org"
    assert recipient_domain("reader@example.org.") == "example.org"
    assert recipient_domain("odd@local@host.example") == "host.example"
    assert not relay_failing([recipient_domain(a) for a in ("a@X.example", "b@x.example", "c@x.EXAMPLE.")],
                             threshold=2)


def test_a_row_of_refusals_is_judged_from_the_answers_alone() -> None:
    row = RefusalRow()
    for i in range(19):
        row = row.after_refusal(i, f"reader{i}@site{i}.example", "554 RCPT: 5.7.1 Relay access denied")
    assert not row.failing() and len(row.refused) == 19
    longer = row.after_refusal(19, "reader19@site19.example", "554 RCPT: 5.7.1 Relay access denied")
    assert longer.failing() and not row.failing()  # each answer makes a new row; the old one is unchanged
    assert longer.summary() == ("the relay refused 20 messages in a row, for 20 different recipient domains "
                                "(last answer: 554 RCPT: 5.7.1 Relay access denied)")
    same_domain = RefusalRow()
    for i in range(25):
        same_domain = same_domain.after_refusal(i, f"former{i}@defunct.example", "550 5.1.1 No such user")
    assert not same_domain.failing()
    assert "25 messages in a row, for 1 different recipient domains" in same_domain.summary()
