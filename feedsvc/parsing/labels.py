"""The labels a listing's lines are given: weights.py scores them, sequence.py decodes a page into
them, listing.py builds releases from them.

Plain ints, not an enum: they index the decoder's score lists, and the decoder and the assembler
compare them for every line of every page.
"""

from __future__ import annotations

# HEAD is page chrome before the first release; NOISE is what stands between releases (tags,
# captions, leftovers), NOISE_IN the same inside a release's head; SECTION a heading that groups
# releases; DATE_PRE and DATE_POST a date line above and under its title; ROLE a job-title line
# under a byline; DATE_END a date line closing its release, under the body or teaser.
(HEAD, DATE_PRE, TITLE, TITLE_MORE, DATE_POST, BYLINE_L, ROLE, STANDFIRST, BODY_FIRST, BODY_MORE, NOISE, SECTION,
 NOISE_IN, DATE_END) = range(14)
NAMES = ("head", "date-above", "title", "title-more", "date-under", "byline", "role", "standfirst",
         "body", "body-more", "noise", "section", "noise-in", "date-end")
N = len(NAMES)
