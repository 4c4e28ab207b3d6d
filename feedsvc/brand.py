"""The office's face, decided purely: its colours and their contrast, and the favicon drawn from them.

WCAG 2.2 §1.4.3 (contrast, minimum): text and links need 4.5:1 against what is behind them. The
themes' own colours are fixed here and tested; the accent comes from FEEDSVC_ACCENT and is checked
against the lightest and darkest surfaces it is drawn on, and given a lighter twin for dark mode.
"""

from __future__ import annotations

import dataclasses
import re
import struct
import zlib

AA = 4.5  # WCAG AA, normal text
DEFAULT_ACCENT = "#0b57d0"

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclasses.dataclass(frozen=True)
class Theme:
    """One colour scheme: `bg` the page, `surface` the boxes (subscribe, pager, footer)."""

    bg: str
    surface: str
    fg: str
    muted: str
    line: str


LIGHT = Theme(bg="#ffffff", surface="#f3f2ee", fg="#1b1b1b", muted="#595959", line="#d9d7d0")
DARK = Theme(bg="#15171a", surface="#202328", fg="#ececea", muted="#aeb3ba", line="#3a3e45")


class AccentError(ValueError):
    """An accent colour that is not a colour, or that text in it could not be read."""


def parse_hex(colour: str) -> tuple[int, int, int]:
    """#rgb or #rrggbb → (r, g, b) in 0..255."""
    if not _HEX.fullmatch(colour):
        raise AccentError(f"{colour!r} is not a CSS hex colour such as #0b57d0")
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def to_hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.2, 'relative luminance'): 0 for black, 1 for white."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in parse_hex(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The contrast ratio of two colours, 1 to 21, in either order."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def mix(a: str, b: str, share: float) -> str:
    """`a` moved `share` (0..1) of the way towards `b`."""
    pa, pb = parse_hex(a), parse_hex(b)
    r, g, bl = (round(x + (y - x) * share) for x, y in zip(pa, pb, strict=True))
    return to_hex((r, g, bl))


def dark_twin(accent: str, theme: Theme = DARK) -> str:
    """The accent as dark mode shows it: itself if it reads on `theme`'s surface, else lightened
    just enough towards white that it does (white itself always does on a dark theme)."""
    for step in range(0, 65):
        candidate = mix(accent, "#ffffff", step / 64)
        if contrast(candidate, theme.surface) >= AA:
            return candidate
    return "#ffffff"


@dataclasses.dataclass(frozen=True)
class Accent:
    """The accent of each theme. Buttons are the accent with the theme's page colour as text."""

    light: str
    dark: str


def checked_accent(colour: str) -> Accent:
    """FEEDSVC_ACCENT → both themes' accents, or AccentError when links in it would fail WCAG AA
    on the light theme (a dark accent is never refused: dark mode gets its lightened twin)."""
    light = to_hex(parse_hex(colour.strip()))
    ratio = contrast(light, LIGHT.surface)
    if ratio < AA:
        raise AccentError(f"{colour!r} has a contrast of {ratio:.2f}:1 against the light background "
                          f"{LIGHT.surface}; links and buttons need at least {AA}:1 (WCAG AA): "
                          "choose a darker colour")
    return Accent(light=light, dark=dark_twin(light))


# -- the favicon: a newspaper's columns, white on the accent -----------------------------------

# Bars in a 32×32 grid: (x, y, width, height); a headline, then two columns of text.
_BARS = ((7, 8, 18, 4), (7, 15, 8, 2), (17, 15, 8, 2), (7, 19, 8, 2), (17, 19, 8, 2), (7, 23, 8, 2),
         (17, 23, 8, 2))


def favicon_svg(accent: str) -> bytes:
    """The favicon as SVG (browsers that read `link rel=icon type=image/svg+xml`)."""
    bars = "".join(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="0.5"/>' for x, y, w, h in _BARS)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            f'<rect width="32" height="32" rx="6" fill="{to_hex(parse_hex(accent))}"/>'
            f'<g fill="#ffffff">{bars}</g></svg>').encode()


def _inside_rounded(x: int, y: int, size: int, radius: int) -> bool:
    cx = min(max(x, radius), size - 1 - radius)
    cy = min(max(y, radius), size - 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius


def favicon_png(accent: str, size: int = 32) -> bytes:
    """The same picture as a 32×32 RGBA PNG, drawn pixel by pixel (no imaging library)."""
    r, g, b = parse_hex(accent)
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            if not _inside_rounded(x, y, size, 6):
                row += b"\x00\x00\x00\x00"
            elif any(bx <= x < bx + w and by <= y < by + h for bx, by, w, h in _BARS):
                row += b"\xff\xff\xff\xff"
            else:
                row += bytes((r, g, b, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8 bits, RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def favicon_ico(accent: str) -> bytes:
    """/favicon.ico: one 32×32 image, stored as PNG (an ICO may hold PNG since Windows Vista)."""
    png = favicon_png(accent, 32)
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", 32, 32, 0, 0, 1, 32, len(png), 6 + 16)
    return directory + entry + png
