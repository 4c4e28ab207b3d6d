"""/admin in Debian's chromium at a laptop's and a phone's width: every table fits (issue 15.6).

Fits means: no cell reaches past the box that shows its table unless that box scrolls sideways
(then the cell is reached by scrolling the table, not cut), no cell's text overflows the cell,
and the page itself never scrolls sideways.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from feedsvc.storage import Storage

# chromium and served are test_browser's fixtures, imported so pytest finds them here too (hence F811 below).
from tests.test_browser import ADMIN_TOKEN, OTHER, chromium, expect, send_digests, served  # noqa: F401

pytestmark = pytest.mark.browser

WIDTHS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Long addresses with no place to break: what a cut column or a page wider than the screen shows first.
LONG = ["regional-coordination-unit.press-and-public-information-desk@ministry-of-interior.example.gov.tr",
        "x" * 64 + "@" + "a" * 60 + ".example.org"]

# Every table's box, and what in it does not fit: a cell past the box (unless the box scrolls
# sideways) or text overflowing its own cell. Headings hidden for a phone's cards are left out.
FIT_PROBLEMS = """() => {
  const problems = [], scrolling = [];
  for (const wrap of document.querySelectorAll('.table-wrap')) {
    const name = wrap.querySelector('table').id;
    const box = wrap.getBoundingClientRect();
    if (box.left < -0.5 || box.right > window.innerWidth + 0.5)
      problems.push(`${name}: its box ${box.left}..${box.right} is outside the window`);
    const scrolls = wrap.scrollWidth > wrap.clientWidth
      && ['auto', 'scroll'].includes(getComputedStyle(wrap).overflowX);
    if (scrolls) scrolling.push(name);
    for (const cell of wrap.querySelectorAll('td, th')) {
      const head = cell.closest('thead');
      if (head && getComputedStyle(head).clipPath !== 'none') continue;
      const r = cell.getBoundingClientRect();
      const text = cell.textContent.trim().slice(0, 40);
      if (!scrolls && (r.right > box.right + 0.5 || r.left < box.left - 0.5))
        problems.push(`${name}: cell "${text}" spans ${r.left}..${r.right}, its box ${box.left}..${box.right}`);
      if (cell.scrollWidth > cell.clientWidth + 1)
        problems.push(`${name}: cell "${text}" overflows (${cell.scrollWidth} > ${cell.clientWidth})`);
    }
  }
  return {problems, scrolling,
          page: [document.documentElement.scrollWidth, window.innerWidth]};
}"""


@pytest.fixture
def db_kind() -> str:
    return "sqlite"  # one database is enough for a browser test


def fill(env: dict[str, str], storage: Storage) -> None:
    """Scans, two real digest runs (one sent over SMTP, one left part done), subscribers in every state."""
    t0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    for i, email in enumerate([*LONG, OTHER, *(f"reader{i:02d}@example.org" for i in range(40))]):
        storage.add_confirmed(email, ("health", "borders-and-emergencies") if i % 3 == 0 else (), "weekly",
                              t0 + dt.timedelta(minutes=i))
    send_digests(env, storage)  # scans the samples and mails every confirmed reader
    storage.subscribe("waiting_for.confirmation@example.org", ("livelihoods",), "daily", t0)
    storage.unsubscribe(storage.get_subscriber_by_email("reader01@example.org").id, t0)  # type: ignore[union-attr]
    storage.bounce(storage.get_subscriber_by_email("reader02@example.org").id, "550 no such user")  # type: ignore[union-attr]
    # Something new, a run planned, and its sender dying after handing one message over.
    (Path(env["FEEDSVC_CONTENT_DIR"]) / "later.txt").write_text(
        "Press Releases\n\nHealth Screening Reaches Remote Villages\n\n"
        "Ankara – Health workers screened two thousand people in remote villages.\n", encoding="utf-8")
    from feedsvc.cli import make_ingester
    from feedsvc.config import load_settings

    make_ingester(load_settings(env), storage).scan()
    storage.create_run("manual:later", "weekly", "manual", "week 48 (again)", t0 + dt.timedelta(hours=2))
    first, second, *_ = storage.pending_deliveries()
    writer = storage.ledger_writer()
    try:
        writer.claim([(first.id, "r", "<first@x>"), (second.id, "r", "<second@x>")])
    finally:
        writer.close()
    storage.delivery_refused(second.id, second.subscriber_id, "550 mailbox unavailable")
    storage.recover_deliveries()  # the first was handed over when its sender died: in doubt
    # A reader whose server never answered after DATA, three times: parked, needs attention.
    (unlucky,) = [d for d in storage.pending_deliveries() if d.email == OTHER]
    for attempt in range(3):
        writer = storage.ledger_writer()
        try:
            writer.claim([(unlucky.id, "r", "<unlucky@x>")])
        finally:
            writer.close()
        storage.delivery_in_doubt(unlucky.id, f"connection lost awaiting the reply (attempt {attempt + 1})")
    # And the relay failing: the runs paused, the banner on top.
    storage.pause_sending("the relay refused 20 messages in a row, for 20 different recipient domains "
                          "(last answer: 554 RCPT: 5.7.1 Relay access denied): nobody was marked bounced for it",
                          t0 + dt.timedelta(hours=3), cause="relay")


def check_fits(page: Any, what: str) -> list[str]:
    found = page.evaluate(FIT_PROBLEMS)
    assert found["problems"] == [], f"{what}: " + "\n".join(found["problems"])
    width, inner = found["page"]
    assert width <= inner, f"{what}: the page scrolls sideways ({width}px wide in a {inner}px window)"
    return list(found["scrolling"])


def test_admin_tables_fit_a_laptop_and_a_phone(chromium, served, storage: Storage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _, browser = chromium
    fill(served, storage)
    base = served["FEEDSVC_BASE_URL"]
    context = browser.new_context(viewport=WIDTHS["laptop"])
    page = context.new_page()
    page.goto(base + "/admin")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()  # the header has a Search button too
    page.wait_for_url(base + "/admin")

    for name, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.goto(base + "/admin")
        runs = page.locator("#digest-runs tbody tr")
        assert runs.count() == 4  # the instant, daily and weekly runs of send_digests, and the later one
        assert "week 48 (again)" in runs.first.inner_text()
        assert page.locator("#subscriber-list tbody tr").count() == 25
        assert OTHER in page.locator("#parked-deliveries tbody tr").all_inner_texts()[0]
        expect(page.get_by_role("alert").filter(has_text="Sending is paused")).to_be_visible()
        scrolling = check_fits(page, f"/admin at {viewport['width']}px")
        assert scrolling == [], f"at {viewport['width']}px these tables scroll: {scrolling}"
        page.screenshot(path=str(tmp_path / f"admin-{name}-{viewport['width']}.png"), full_page=True)

        # A search, a state and the next page, as an operator would use them.
        page.get_by_label("Address contains").fill("READER")
        page.get_by_label("State", exact=True).select_option("confirmed")
        page.locator("main").get_by_role("button", name="Search").click()
        page.wait_for_url("**/admin?q=READER&state=confirmed*")
        assert page.locator("#subscriber-list tbody tr").count() == 25
        page.get_by_role("link", name="Older →").click()
        page.wait_for_url("**page=2*")
        addresses = page.locator("#subscriber-list tbody tr td:first-child").all_inner_texts()
        assert len(addresses) == 13 and addresses[-2:] == ["reader03@example.org", "reader00@example.org"]  # 01 left, 02 bounced
        check_fits(page, f"page 2 of a search at {viewport['width']}px")
        page.get_by_label("Address contains").fill(LONG[1][:70])
        page.get_by_label("State", exact=True).select_option("")
        page.locator("main").get_by_role("button", name="Search").click()
        page.wait_for_url("**/admin?q=*")
        assert page.locator("#subscriber-list tbody tr td:first-child").all_inner_texts() == [LONG[1]]
        check_fits(page, f"a long address at {viewport['width']}px")
        page.screenshot(path=str(tmp_path / f"admin-search-{name}-{viewport['width']}.png"), full_page=True)
    print(f"\nscreenshots in {tmp_path}")
    context.close()


def test_the_fit_check_sees_a_cut_table(chromium, served, storage: Storage) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The check above can fail: a table wider than its box that cannot scroll is reported."""
    _, browser = chromium
    context = browser.new_context(viewport=WIDTHS["phone"],
                                  extra_http_headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    page = context.new_page()
    page.goto(served["FEEDSVC_BASE_URL"] + "/admin")
    check_fits(page, "/admin as served")
    page.add_style_tag(content=".table-wrap { overflow: hidden } #topic-counts { width: 900px }")
    found = page.evaluate(FIT_PROBLEMS)
    assert any(p.startswith("topic-counts: cell ") for p in found["problems"]), found
    page.add_style_tag(content=".table-wrap { overflow: visible }")
    assert page.evaluate(FIT_PROBLEMS)["page"][0] > 390  # unwrapped, the page itself would scroll
    context.close()
