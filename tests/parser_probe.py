"""A child process's reading of listings, to compare one installed parser with another.

Run as `python -c PROBE FOLDER...` with the install to try on PYTHONPATH: it prints, as JSON, the
file the parser's `lines` module came from (a compiled `.so` or its `.py` source), a digest of
every release it read (`repr` holds every field) or error it raised, and the number of releases.
"""

from __future__ import annotations

PROBE = """
import hashlib, json, sys
from pathlib import Path
import feedsvc.parsing as parsing
import feedsvc.parsing.lines as lines
digest, releases = hashlib.sha256(), 0
for folder in sys.argv[1:]:
    for path in sorted(Path(folder).iterdir()):
        if path.suffix not in (".txt", ".md", ".html", ".htm"):
            continue
        try:
            found = parsing.parse_bytes(path.read_bytes(), path.name)
        except parsing.ParseError as error:
            digest.update(repr(error).encode())
            continue
        releases += len(found)
        for release in found:
            digest.update(repr(release).encode())
print(json.dumps({"lines": lines.__file__, "digest": digest.hexdigest(), "releases": releases}))
"""
