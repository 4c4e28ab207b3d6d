"""Arabic pages mirror in Debian's chromium (issue 17 item 2): chosen by the switcher, kept by its cookie."""

from __future__ import annotations

from typing import Any

import pytest

from feedsvc.storage import Storage
from tests.test_browser import chromium, db_kind, served  # noqa: F401  (fixtures)
from tests.test_web_feeds import ingest

pytestmark = pytest.mark.browser


def boxes(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
      const box = s => { const r = document.querySelector(s).getBoundingClientRect(); return [r.left, r.right]; };
      // The heading's text, not its block (a block is as wide as the column in either direction).
      const text = s => { const g = document.createRange(); g.selectNodeContents(document.querySelector(s));
                          const r = g.getBoundingClientRect(); return [r.left, r.right]; };
      return {dir: getComputedStyle(document.documentElement).direction, lang: document.documentElement.lang,
              home: box('header a.home'), search: box('form.site-search'), h1: text('main h1'),
              main: box('main'), wide: document.scrollingElement.scrollWidth > innerWidth};
    }""")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_switcher_turns_the_page_right_to_left(chromium: Any, served: dict[str, str],  # noqa: F811
                                                   storage: Storage, width: int) -> None:
    ingest(served, storage)
    _, browser = chromium
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.goto(served["FEEDSVC_BASE_URL"] + "/")
    english = boxes(page)
    assert (english["dir"], english["lang"]) == ("ltr", "en")
    page.click("nav.languages a[hreflang='ar']")
    page.wait_for_url("**/?hl=ar")  # the click only starts the navigation
    arabic = boxes(page)
    assert (arabic["dir"], arabic["lang"]) == ("rtl", "ar") and not arabic["wide"]
    # Mirrored: the heading hugs the right edge of the column, as it hugged the left in English.
    assert abs(arabic["h1"][1] - arabic["main"][1]) < abs(arabic["h1"][0] - arabic["main"][0])
    assert abs(english["h1"][0] - english["main"][0]) < abs(english["h1"][1] - english["main"][1])
    if width > 600:  # one header line: the site's name at the start, the search box at the end
        assert english["home"][0] < english["search"][0] and arabic["home"][1] > arabic["search"][1]
    # The cookie keeps the choice on the next page, whatever the browser's language.
    page.goto(served["FEEDSVC_BASE_URL"] + "/subscribe")
    assert boxes(page)["lang"] == "ar" and "وتيرة الإرسال" in page.content()
    context.close()
