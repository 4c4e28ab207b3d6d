"""The labels a listing's lines are given: weights.py scores them, sequence.py decodes a page into
them, listing.py builds releases from them.

Plain ints, not an enum: they index the decoder's score lists, and the decoder and the assembler
compare them for every line of every page.
"""

from __future__ import annotations

from typing import Final

# HEAD is page chrome before the first release; NOISE is what stands between releases (tags,
# captions, leftovers), NOISE_IN the same inside a release's head; SECTION a heading that groups
# releases; DATE_PRE and DATE_POST a date line above and under its title; ROLE a job-title line
# under a byline; DATE_END a date line closing its release, under the body or teaser.
# Final: the compiled parser inlines them as constants.
HEAD: Final = 0
DATE_PRE: Final = 1
TITLE: Final = 2
TITLE_MORE: Final = 3
DATE_POST: Final = 4
BYLINE_L: Final = 5
ROLE: Final = 6
STANDFIRST: Final = 7
BODY_FIRST: Final = 8
BODY_MORE: Final = 9
NOISE: Final = 10
SECTION: Final = 11
NOISE_IN: Final = 12
DATE_END: Final = 13
NAMES: Final = ("head", "date-above", "title", "title-more", "date-under", "byline", "role", "standfirst",
                "body", "body-more", "noise", "section", "noise-in", "date-end")
N: Final = len(NAMES)
