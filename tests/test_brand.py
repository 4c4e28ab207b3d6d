"""brand.py: colour contrast as WCAG 2.2 computes it, the accent's checks, the favicon's bytes."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc import brand
from feedsvc.brand import AA, DARK, LIGHT, AccentError, checked_accent, contrast


def test_contrast_matches_the_wcag_reference_values() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#fff", "#fff") == pytest.approx(1.0)
    # The well-known thresholds: #767676 is the lightest grey passing AA on white, #777777 fails.
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast("#777777", "#ffffff") < AA
    assert contrast("#0b57d0", "#ffffff") == contrast("#ffffff", "#0b57d0")


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_every_text_colour_of_both_themes_passes_aa_on_every_surface(theme: brand.Theme) -> None:
    for text in (theme.fg, theme.muted):
        for behind in (theme.bg, theme.surface):
            assert contrast(text, behind) >= AA, (text, behind)


def test_the_default_accent_and_its_buttons_pass_in_both_themes() -> None:
    accent = checked_accent(brand.DEFAULT_ACCENT)
    for behind in (LIGHT.bg, LIGHT.surface, "#ffffff"):  # links, and white text on a button
        assert contrast(accent.light, behind) >= AA
    for behind in (DARK.bg, DARK.surface):  # links, and the dark page colour as a button's text
        assert contrast(accent.dark, behind) >= AA


@pytest.mark.parametrize("bad", ["#ffcc00", "#7fb3ff", "#ffffff", "#999"])
def test_an_accent_unreadable_on_the_light_theme_is_refused_with_its_ratio(bad: str) -> None:
    with pytest.raises(AccentError, match=r"contrast of \d+\.\d\d:1 against the light background.*4\.5:1"):
        checked_accent(bad)


@pytest.mark.parametrize("bad", ["blue", "0b57d0", "#0b57d", "#gggggg", "", "#0b57d0ff"])
def test_what_is_not_a_hex_colour_is_refused(bad: str) -> None:
    with pytest.raises(AccentError, match="is not a CSS hex colour"):
        checked_accent(bad)


def test_a_short_hex_colour_is_its_long_form() -> None:
    assert checked_accent("#036").light == "#003366"


@given(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)))
def test_any_accepted_accent_gets_a_dark_twin_that_reads_in_dark_mode(rgb: tuple[int, int, int]) -> None:
    colour = brand.to_hex(rgb)
    try:
        accent = checked_accent(colour)
    except AccentError:
        assert contrast(colour, LIGHT.surface) < AA
        return
    assert contrast(accent.dark, DARK.surface) >= AA and contrast(accent.dark, DARK.bg) >= AA
    if contrast(colour, DARK.surface) >= AA:
        assert accent.dark == colour  # untouched when it already reads


def png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, chunks = 8, {}
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + data)
        chunks[kind] = data
        pos += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 6)
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + width * 4
    return width, height, [raw[i * stride + 1:(i + 1) * stride] for i in range(height)]


def test_the_favicon_is_a_32px_ico_of_the_accent_with_white_columns() -> None:
    ico = brand.favicon_ico("#0b57d0")
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 1)
    w, h, _, _, planes, bpp, size, offset = struct.unpack("<BBBBHHII", ico[6:22])
    assert (w, h, planes, bpp, offset, size) == (32, 32, 1, 32, 22, len(ico) - 22)
    width, height, rows = png_pixels(ico[22:])
    assert (width, height) == (32, 32)
    assert rows[0][:4] == b"\x00\x00\x00\x00"  # the rounded corner is transparent
    assert rows[16][2 * 4:3 * 4] == bytes((0x0b, 0x57, 0xd0, 255))  # the accent
    assert rows[9][10 * 4:11 * 4] == b"\xff\xff\xff\xff"  # the headline bar


def test_the_svg_favicon_is_drawn_in_the_accent() -> None:
    svg = brand.favicon_svg("#036").decode()
    assert svg.startswith("<svg") and 'fill="#003366"' in svg
