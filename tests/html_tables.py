"""Reading an HTML table as a person would: its rows by column heading (lxml, no regular expressions)."""

from __future__ import annotations

import lxml.html


def table_rows(page: str, table_id: str) -> list[dict[str, str]]:
    """The rows of table `table_id`, each {column heading: cell text}; a one-cell row as {"": text}."""
    (table,) = lxml.html.fromstring(page).xpath(f'//table[@id="{table_id}"]')
    headings = [" ".join(th.text_content().split()) for th in table.xpath("./thead/tr/th")]
    rows = []
    for tr in table.xpath("./tbody/tr"):
        cells = [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
        rows.append(dict(zip(headings, cells, strict=True)) if len(cells) == len(headings) else {"": cells[0]})
    return rows
