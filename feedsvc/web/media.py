"""/media/<sha256>/<name>: the files releases carry (issue 17 item 3), from the database.

An address names its bytes (their SHA-256), so a response never changes: cached a year as
`immutable`, with the digest as a strong ETag (a revalidation reads no bytes). Only a file a public
release carries under that name is served; one that only a held or withdrawn release carries, or
that was replaced, is the 404 of an address that never existed.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _

from . import services

bp = Blueprint("media", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
# Pictures never run script in <img>, but an SVG opened by itself would run its own in this site's
# origin: every picture is answered in a sandbox (a unique origin, no script) with nothing to load.
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
# A PDF is shown by the browser's own viewer, outside this origin's scripts; a CSP sandbox would
# stop Chromium showing it at all. It may still not be framed by another site.
FILE_CSP = "frame-ancestors 'none'"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@bp.get("/media/<sha256>/<name>")
def medium(sha256: str, name: str) -> Response:
    if _SHA256.fullmatch(sha256) is None:
        abort(404, description=_("There is no such file."))
    storage = services().storage
    # The ETag is the address's own digest: a client holding it needs no bytes read.
    unchanged = request.if_none_match.contains_weak(sha256)  # RFC 9110 §13.1.2: weak comparison
    found = storage.public_medium(sha256, name, body=not unchanged)
    if found is None:
        abort(404, description=_("There is no such file."))
    resp = Response(found.body or b"", content_type=found.content_type)
    resp.set_etag(sha256)
    resp.headers["Cache-Control"] = IMMUTABLE
    resp.headers.set("Content-Disposition", "inline", **_filename(name))
    resp.headers["Content-Security-Policy"] = IMAGE_CSP if found.content_type.startswith("image/") else FILE_CSP
    if unchanged:
        resp.status_code = 304
        resp.set_data(b"")
        return resp
    # Ranges too: PDF viewers fetch a large file in parts.
    resp.make_conditional(request, accept_ranges=True, complete_length=found.size)
    return resp


def _filename(name: str) -> dict[str, str]:
    """Content-Disposition's name: as is when plain ASCII; else an ASCII stand-in and RFC 6266's `filename*`.

    Header values are Latin-1 and may hold no control character: a name may hold anything a folder can.
    """
    plain = "".join(ch if " " <= ch < "\x7f" else "_" for ch in
                    unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")) or "file"
    if plain == name:
        return {"filename": name}
    return {"filename": plain, "filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")}
