"""A release's attachments and contacts as HTML for its feed entry (issue 17 item 3). Pure.

Appended to the entry's content (Atom `content`, RSS `content:encoded`, JSON Feed `content_html`), so a
reader that ignores enclosures still shows the pictures, the files and whom to call. Every value is
escaped here; URLs come from links.py.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from .links import Links
from .media import TYPE_NAMES, human_size
from .model import Attachment, Contact

__all__ = ["attachments_html", "contacts_html", "extras_html", "file_label", "listed_attachments"]


def file_label(a: Attachment) -> str:
    """What a file is, for a list of files: "PDF, 1.2 MB"."""
    return f"{TYPE_NAMES.get(a.content_type, a.content_type)}, {human_size(a.size)}"


def listed_attachments(attachments: Sequence[Attachment], links: Links) -> list[tuple[Attachment, str, str]]:
    """Each attachment with its address and its label, as the release page and a digest's page list them."""
    return [(a, links.media(a.sha256, a.name), file_label(a)) for a in attachments]


def attachments_html(attachments: Sequence[Attachment], links: Links) -> str:
    images = [a for a in attachments if a.is_image]
    files = [a for a in attachments if not a.is_image]
    out: list[str] = []
    for a in images:
        size = f' width="{a.width}" height="{a.height}"' if a.width and a.height else ""
        out.append(f'<p><img src="{html.escape(links.media(a.sha256, a.name))}" alt="{html.escape(a.alt)}"{size}></p>')
    if files:
        out.append("<h2>Files</h2>\n<ul>")
        for a in files:
            title = html.escape(a.alt or a.name)
            out.append(f'<li><a href="{html.escape(links.media(a.sha256, a.name))}">{title}</a> ({file_label(a)})</li>')
        out.append("</ul>")
    return "\n".join(out)


def contacts_html(contacts: Sequence[Contact]) -> str:
    if not contacts:
        return ""
    out = ["<h2>Contacts</h2>\n<ul>"]
    for c in contacts:
        who = ", ".join(html.escape(v) for v in (c.name, c.role) if v)
        reach = []
        if c.email:
            reach.append(f'<a href="mailto:{html.escape(c.email)}">{html.escape(c.email)}</a>')
        if c.phone and c.tel:
            reach.append(f'<a href="tel:{html.escape(c.tel)}">{html.escape(c.phone)}</a>')
        out.append(f"<li>{who}{': ' if who and reach else ''}{' · '.join(reach)}</li>")
    out.append("</ul>")
    return "\n".join(out)


def extras_html(attachments: Sequence[Attachment], contacts: Sequence[Contact], links: Links) -> str:
    """Attachments then contacts, each block on its own lines; "" when the release has neither."""
    parts = [p for p in (attachments_html(attachments, links), contacts_html(contacts)) if p]
    return ("\n" + "\n".join(parts) + "\n") if parts else ""
