"""A generated corpus of listing files in the layouts of the samples, written file by file."""

from __future__ import annotations

import random
from pathlib import Path

PLACES = ["Ankara", "ISTANBUL", "Gaziantep", "Edirne", "Geneva", "Vienna", "Antalya",
          "Çeşme, Western Turkey", "Izmir", "Şanlıurfa"]
DASHES = [" – ", " - ", "\u00a0– ", " — ", "- ", " -- "]
TOPICS = ["border", "trafficking", "return", "social cohesion", "COVID-19", "partnership",
          "film festival", "funding", "health", "integration"]
WORDS = ["migrants", "refugees", "support", "programme", "communities", "government", "partners", "local", "assistance", "protection", "services", "families", "children", "training", "workshop", "municipality", "launched", "report", "figures", "increase", "people", "province", "humanitarian", "response", "agency"]


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def listing(rng: random.Random, file_no: int, per_file: int) -> str:
    lines = ["Press Releases", ""]
    bullet = rng.choice(["", "  • ", "- "])
    for i in range(per_file):
        topic = rng.choice(TOPICS)
        lines.append(f"{bullet}IOM {topic.title()} Update {file_no}-{i}: {sentence(rng, 6)[:-1]}")
        lines.append("")
        place = rng.choice(PLACES)
        body = f"{place}{rng.choice(DASHES)}IOM said on {topic} matters that {sentence(rng, 40)}"
        lines.append(("    " if bullet else "") + body)
        lines.append("")
        if rng.random() < 0.5:
            lines.append(("    " if bullet else "") + sentence(rng, 30))
            lines.append("")
    return "\n".join(lines)


def write_corpus(folder: Path, files: int, per_file: int = 10, seed: int = 7) -> int:
    """Write `files` listings of `per_file` releases each; return the number of releases."""
    rng = random.Random(seed)
    for f in range(files):
        sub = folder / f"{f // 1000:03}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"listing_{f:05}.txt").write_text(listing(rng, f, per_file), encoding="utf-8")
    return files * per_file
