"""The README's configuration table and config_variables.VARIABLES name the same variables, and
config.py reads each of them: a variable added in one place and forgotten in another fails here."""

from __future__ import annotations

import re

from feedsvc.config_variables import VARIABLES
from tests.conftest import ROOT


def test_the_readme_table_lists_every_variable_config_reads() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    in_table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, flags=re.M))
    listed = {name for name, _, _ in VARIABLES}
    assert listed - in_table == set(), "in VARIABLES, missing from the README's table"
    assert in_table - listed == set(), "in the README's table, missing from VARIABLES"
    config = (ROOT / "feedsvc" / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"((?:FEEDSVC_|DKIM_|SMTP_|MAIL_|SECRET_|DATABASE_|PORT|LOG_)[A-Z0-9_]*)"', config))
    assert read - listed == set(), "read by config.py, missing from VARIABLES"
