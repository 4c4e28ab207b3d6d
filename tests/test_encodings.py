"""One listing in every encoding and line ending a content folder holds; bad bytes give a clear ParseError."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from feedsvc.model import ParseError, ParseWarning
from feedsvc.parsing import (
    decode,
    decode_with_warnings,
    parse_bytes,
    parse_file,
    parse_file_with_warnings,
)

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
        (b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00>\x00\x01" + bytes(40)
         + random.Random(3).randbytes(3000), "binary file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(4).randbytes(5000), "binary file"),
        (random.Random(5).randbytes(20_000), "binary file"),
        (LISTING.encode("utf-16-le")[:-1], "binary file"),  # UTF-16 cut short: NULs every other byte
        (codecs.BOM_UTF16_LE + b"\x00\xd8\x41\x00", "undecodable"),
        (codecs.BOM_UTF8 + b"Title \xff\xfe\xfd\n", "undecodable"),
    ],
    ids=["empty", "blank", "bom-only", "png", "control-bytes", "elf", "png-random", "random",
         "utf16-odd", "bad-utf16", "bad-utf8-bom"],
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


# --- issue 11, item 4: decoding never garbles a good file; repairs are warned about with their line ---


def read(tmp_path: Path, data: bytes, name: str = "listing.txt") -> tuple[list[tuple[str, str | None, tuple[str, ...]]], tuple[ParseWarning, ...]]:
    path = tmp_path / name
    path.write_bytes(data)
    parsed = parse_file_with_warnings(path)
    return [(r.title, r.location, r.paragraphs) for r in parsed.releases], parsed.warnings


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("stray", [b"\xff", b"\xe9", b"\x92", b"\xe2\x80"],
                         ids=["ff", "cp1252-e-acute", "cp1252-quote", "cut-sequence"])
def test_utf8_with_one_stray_byte_stays_utf8(tmp_path: Path, newline: str, stray: bytes) -> None:
    data = LISTING.replace("\n", newline).encode("utf-8").replace(b"Proceeds", b"Proceeds" + stray)
    releases, warnings = read(tmp_path, data)
    assert releases[1] == EXPECTED[1]  # nothing else garbled into another code page
    assert releases[0][0] == EXPECTED[0][0] and releases[0][1] == "Genève"
    assert releases[0][2][-1] == "Proceeds\ufffd go to families in Gaziantep."
    noun = "bytes" if len(stray) > 1 else "byte"
    shown = " ".join(f"0x{b:02X}" for b in stray)
    assert warnings == (ParseWarning("listing.txt", 6, f"invalid UTF-8 {noun} {shown} replaced with U+FFFD"),)
    assert str(warnings[0]) == f"listing.txt line 6: invalid UTF-8 {noun} {shown} replaced with U+FFFD"


def test_utf8_with_a_stray_byte_after_a_bom(tmp_path: Path) -> None:
    releases, warnings = read(tmp_path, codecs.BOM_UTF8 + b"Title of the Release\n\nAnkara - It \xff opened.\n")
    assert releases == [("Title of the Release", "Ankara", ("It \ufffd opened.",))]
    assert [(w.line, w.message) for w in warnings] == [(3, "invalid UTF-8 byte 0xFF replaced with U+FFFD")]


def test_stray_bytes_on_many_lines_are_warned_about_per_line_then_summed_up() -> None:
    text = "Title\n\n" + "".join(f"Line {i} – caf\udce9\n" for i in range(30))
    decoded, warnings = decode_with_warnings(text.encode("utf-8", "surrogateescape"), "many.txt")
    assert decoded.count("\ufffd") == 30 and decoded.count("–") == 30
    assert [w.line for w in warnings] == [*range(3, 13), 13]
    assert warnings[0].message == "invalid UTF-8 byte 0xE9 replaced with U+FFFD"
    assert warnings[-1].message == ("invalid UTF-8 bytes replaced with U+FFFD on 20 more lines "
                                    "(up to line 32)")


def test_two_stray_bytes_on_one_line_are_one_warning() -> None:
    data = "Title – x –\n\nBody\n".encode().replace(b"x", b"\xff \xfe")
    _, warnings = decode_with_warnings(data, "t.txt")
    assert [(w.line, w.message) for w in warnings] == [
        (1, "2 invalid UTF-8 sequences (0xFF, 0xFE) replaced with U+FFFD")]


@pytest.mark.parametrize("listing", [LISTING, LATIN1_LISTING, LISTING + "“CAFÉ” Opens\n\nGenève – CAFÉ’S FOOD.\n"],
                         ids=["listing", "latin1-listing", "chance-utf8-pairs"])
def test_windows_1252_file_is_still_read_as_windows_1252(tmp_path: Path, listing: str) -> None:
    data = listing.encode("cp1252")
    # "É”" and "É’" are valid UTF-8 by chance: outnumbered by the invalid sequences, they change nothing.
    assert decode_with_warnings(data, "w.txt") == (listing, ())
    assert read(tmp_path, data) == (titles_and_bodies(listing.encode("utf-8")), ())


def test_ascii_with_one_legacy_byte_is_that_code_page_not_a_replacement() -> None:
    # No valid multi-byte character: nothing says UTF-8, and Windows-1252 reads every byte.
    assert decode_with_warnings(b"Title\n\nGeneva - The caf\xe9 opened.\n", "c.txt") == (
        "Title\n\nGeneva - The café opened.\n", ())


def test_nul_bytes_in_a_text_are_dropped_with_a_warning(tmp_path: Path) -> None:
    data = LISTING.encode("utf-8").replace(b"Proceeds", b"Pro\x00ceeds\x00\x00")
    releases, warnings = read(tmp_path, data)
    assert releases == EXPECTED
    assert warnings == (ParseWarning("listing.txt", 6, "3 NUL bytes dropped"),)


def test_nul_padding_after_a_text_is_dropped(tmp_path: Path) -> None:
    # What an editor or a copy interrupted by a crash leaves: the text, then a block of zeros.
    releases, warnings = read(tmp_path, LISTING.encode("cp1252") + bytes(8192))
    assert releases == EXPECTED
    assert [(w.line, w.message) for w in warnings] == [(11, "8192 NUL bytes dropped")]


def test_nul_bytes_with_a_stray_byte_in_utf8() -> None:
    text, warnings = decode_with_warnings("Title – one\n\nBo\x00dy \udcff.\n".encode("utf-8", "surrogateescape"),
                                          "n.txt")
    assert text == "Title – one\n\nBody \ufffd.\n"
    assert [(w.line, w.message) for w in warnings] == [
        (3, "1 NUL byte dropped"), (3, "invalid UTF-8 byte 0xFF replaced with U+FFFD")]


def test_nothing_but_nul_bytes_is_an_empty_file() -> None:
    with pytest.raises(ParseError, match="empty file"):
        decode(bytes(500), "zeros.txt")


def test_nul_characters_in_utf16_with_bom_are_dropped() -> None:
    data = codecs.BOM_UTF16_LE + "Title\n\nGeneva – te\x00xt\n".encode("utf-16-le")
    assert decode_with_warnings(data, "u.txt") == (
        "Title\n\nGeneva – text\n", (ParseWarning("u.txt", 3, "1 NUL byte dropped"),))


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_still_decodes_without_warnings(tmp_path: Path, encoding: str) -> None:
    assert read(tmp_path, LISTING.encode(encoding)) == (EXPECTED, ())
    assert read(tmp_path, LATIN1_LISTING.encode(encoding), "latin.txt") == (
        titles_and_bodies(LATIN1_LISTING.encode("utf-8")), ())


def test_a_few_control_bytes_do_not_make_a_text_binary() -> None:
    text, warnings = decode_with_warnings(LISTING.encode("utf-8").replace(b"Proceeds", b"\x07Proceeds"), "x.txt")
    assert "\x07Proceeds" in text and warnings == ()
