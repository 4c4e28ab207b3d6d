"""The CLI as an operator meets it at a terminal: `feedsvc init`, and progress bars on a real pty."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLES, process_env
from tests.test_cli import run


def test_init_lays_out_a_folder_then_refuses_to_overwrite_it(tmp_path: Path) -> None:
    office = tmp_path / "office"
    out = run("init", str(office))
    assert f"created {office / 'releases'}/" in out.stdout
    assert "Next:" in out.stdout and "feedsvc serve" in out.stdout
    topics = office / "topics.toml"
    topics.write_text(topics.read_text(encoding="utf-8") + "\n# edited by the office\n", encoding="utf-8")

    again = run("init", str(office), check=False)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr
    assert topics.read_text(encoding="utf-8").endswith("# edited by the office\n")  # never replaced


def _run_on_a_pty(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the CLI with a real terminal as its stdout and stderr; return everything it wrote."""
    main, secondary = pty.openpty()
    full_env = process_env(env | {"COLUMNS": "120", "TERM": "xterm"})
    proc = subprocess.Popen([sys.executable, "-m", "feedsvc.cli", *args], stdin=subprocess.DEVNULL,
                            stdout=secondary, stderr=secondary, env=full_env, cwd=cwd)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal's last writer
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.wait(timeout=300) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_ingest_of_many_files_draws_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    content = tmp_path / "releases"
    content.mkdir()
    sample = (SAMPLES / "000_f6e31e41b8e258ab.txt").read_text(encoding="utf-8")
    for i in range(60):  # Progress shows for 50 files and more
        (content / f"office_{i:02}.txt").write_text(sample, encoding="utf-8")
    env = {"FEEDSVC_CONTENT_DIR": str(content), "FEEDSVC_INSTANCE_DIR": str(tmp_path / "inst")}

    screen = _run_on_a_pty(["ingest"], env, tmp_path)

    assert "scanning" in screen and "60/60" in screen and "files/s" in screen
    # A terminal gets one redrawn bar, not the milestone lines a log gets.
    assert "scanning: 6/60 files" not in screen
    assert "files: 60 scanned, 60 changed, 0 failed" in screen
