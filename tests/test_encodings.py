"""One listing in every encoding and line ending a content folder holds; bad bytes give a clear ParseError."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from feedsvc.model import ParseError
from feedsvc.parsing import decode, parse_bytes, parse_file

LISTING = (
    "Press Releases\n"
    "\n"
    "IOM Launches “Baharat” Cookbook to Raise €10,000 for Migrant Families\n"
    "\n"
    "Genève – The cookbook’s recipes come from Syrian and Turkish cooks; each copy costs 12 €.\n"
    "Proceeds go to families in Gaziantep.\n"
    "\n"
    "Café Owners Hire Returnees in Dakar\n"
    "\n"
    "Dakar – Café owners employ returnees trained by IOM, said the naïve reporter.\n"
)
LATIN1_LISTING = (
    "IOM Opens Café for Returnees in Genève\n"
    "\n"
    "Genève - Le café emploie des réfugiés et des migrants reçus à Genève.\n"
    "\n"
    "Über die Grenze: Help for Families in Zürich\n"
    "\n"
    "Zürich -- Hilfe für Familien an der Grenze, sagte die Organisation.\n"
)


def titles_and_bodies(data: bytes) -> list[tuple[str, str | None, tuple[str, ...]]]:
    return [(r.title, r.location, r.paragraphs) for r in parse_bytes(data, "listing.txt")]


EXPECTED = titles_and_bodies(LISTING.encode("utf-8"))


def test_reference_listing_parses_as_intended() -> None:
    assert EXPECTED == [
        ("IOM Launches “Baharat” Cookbook to Raise €10,000 for Migrant Families", "Genève",
         ("The cookbook’s recipes come from Syrian and Turkish cooks; each copy costs 12 €.",
          "Proceeds go to families in Gaziantep.")),
        ("Café Owners Hire Returnees in Dakar", "Dakar",
         ("Café owners employ returnees trained by IOM, said the naïve reporter.",)),
    ]


@pytest.mark.parametrize(
    "data",
    [
        LISTING.encode("utf-8"),
        codecs.BOM_UTF8 + LISTING.encode("utf-8"),
        codecs.BOM_UTF16_LE + LISTING.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + LISTING.encode("utf-16-be"),
        LISTING.encode("utf-16-le"),  # no BOM: recognised by its NUL pattern
        LISTING.encode("utf-16-be"),
        LISTING.encode("cp1252"),
        LISTING.replace("\n", "\r\n").encode("utf-8"),
        LISTING.replace("\n", "\r").encode("utf-8"),
        LISTING.replace("\n", "\r\n").encode("cp1252"),
        codecs.BOM_UTF32_LE + LISTING.encode("utf-32-le"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le-nobom", "utf16be-nobom",
         "cp1252", "crlf", "cr", "cp1252-crlf", "utf32le-bom"],
)
def test_same_listing_in_every_encoding(data: bytes) -> None:
    assert titles_and_bodies(data) == EXPECTED


def test_latin1_listing() -> None:
    expected = titles_and_bodies(LATIN1_LISTING.encode("utf-8"))
    assert expected[0][1] == "Genève" and expected[1][0].startswith("Über")
    assert titles_and_bodies(LATIN1_LISTING.encode("latin-1")) == expected


def test_turkish_windows_1254_listing() -> None:
    text = ("İstanbul’da Göçmenler İçin Yeni Merkez Açıldı\n\n"
            "İstanbul – Uluslararası Göç Örgütü, göçmenlere danışmanlık sunacak yeni bir merkez açtı. "
            "Şehirde yaşayan ailelere ücretsiz hizmet verilecek.\n")
    assert decode(text.encode("cp1254"), "tr.txt") == text


def test_line_numbers_follow_every_line_ending() -> None:
    for newline in ("\n", "\r\n", "\r"):
        releases = parse_bytes(LISTING.replace("\n", newline).encode("utf-8"), "x.txt")
        assert [r.line for r in releases] == [3, 8]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\r\n\t \n", "empty file"),
        (codecs.BOM_UTF8, "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 8, "binary file"),
        (b"%PDF-1.4\n" + bytes(range(0, 32)) * 64, "binary file"),
        (b"Title\n\nGeneva \x00 - text\n", "binary file"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8\x41\x00", "undecodable"),
        (codecs.BOM_UTF8 + b"Title \xff\xfe\xfd\n", "undecodable"),
    ],
    ids=["empty", "blank", "bom-only", "png", "control-bytes", "nul-in-utf8", "bad-utf16", "bad-utf8-bom"],
)
def test_bad_bytes_raise_parse_error_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_bytes(data, "bad.txt")
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert caught.value.source_file == "bad.txt"


def test_text_without_release_is_reported() -> None:
    with pytest.raises(ParseError, match="no release found"):
        parse_bytes(b"Press Releases\n\nRead more\n", "nav.txt")


def test_parse_file_reads_each_encoding(tmp_path: Path) -> None:
    for name, data in [("a.txt", LISTING.encode("utf-16")), ("b.txt", LISTING.encode("cp1252"))]:
        path = tmp_path / name
        path.write_bytes(data)
        releases = parse_file(path)
        assert [(r.title, r.location, r.paragraphs) for r in releases] == EXPECTED
        assert all(r.source_file == name for r in releases)
