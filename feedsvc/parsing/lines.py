"""One listing line, normalised and described: what it looks like, before deciding what it is."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from typing import Final

from feedsvc.parsing.bylines import META_PARTS, OPINION_WORDS, POSTED_ON_BY, parse_byline, read_byline
from feedsvc.parsing.datelines import (
    Dateline,
    known_place_start,
    place_names,
    split_dateline,
)
from feedsvc.parsing.dates import (
    fold_name,
    is_month_heading,
    is_updated_line,
    parse_meta_line,
    read_date_line,
)

TEXT: Final = 0
DATE: Final = 1
BYLINE: Final = 2

_BULLET: Final = re.compile(r"(?:[•·▪●◦‣∙*–—-]|\d{1,3}[.)])\s+(?=\S)")
_LABEL: Final = re.compile(
    r"(?:press[ -]?releases?|news(?:\s+releases?|room)?|latest\s+news|media\s+(?:centre|center)|"
    r"read\s+more|continue\s+reading|learn\s+more|more|share(?:\s+(?:this|on\s+\w+))?(?:\s+(?:article|page|story|post))?|"
    r"print(?:\s+this)?|back\s+to\s+top|top|load\s+more|view\s+all|see\s+all|next|previous|"
    r"page\s+\d+(?:\s+of\s+\d+)?|home)\s*[:»›>→.…]*",
    re.IGNORECASE,
)
_MAX_LABEL: Final = 40
# A sentence ends inside a line when a full stop is followed by a capitalised word.
_INNER_SENTENCE: Final = re.compile(r"[.!?][\"”’)]*\s+[\"“‘(]?[A-Z]")
_CLOSERS: Final = "\"”’')»]"
# Words Title Case leaves in lower case; they do not count against a title.
_MINOR_WORDS: Final = frozenset(
    ["a", "an", "the", "and", "or", "but", "nor", "of", "in", "on", "at", "to", "for", "by", "with", "from", "as", "into", "onto", "upon", "via", "vs", "per", "de", "la", "le", "du", "des", "di", "da", "el", "al"]
)
# Leftovers of a scraped page's links (`Read more`, `Continue reading “…”`, `Découvrir`).
_LEFTOVER: Final = re.compile(
    r"(?:read(?:\s+the)?\s+(?:more|story|full\s+(?:story|article|release|piece|post|op-ed|commentary|interview|text|report|statement))|"
    r"continue\s+reading|now\s+read\s+on|more\s+(?:stories\s+|news\s+|posts\s+|articles\s+)?from\s+[^.!?]{1,40}|"
    r"more|learn\s+more|find\s+out\s+more|see\s+more|view\s+more|load\s+more|show\s+more|"
    r"full\s+(?:story|release|text|statement)|back\s+to\s+top|lire\s+la\s+suite|"
    r"en\s+savoir\s+plus|(?:afficher|voir)\s+plus|d[ée]couvrir|mostrar\s+m[áa]s|mehr\s+anzeigen|leer\s+m[áa]s|ver\s+m[áa]s|seguir\s+leyendo|weiterlesen|"
    r"mehr(?:\s+(?:lesen|erfahren))?|devam[ıi]n[ıi]\s+oku|daha\s+fazla|leggi(?:\s+(?:tutto|di\s+pi[ùu]))?|"
    r"ler\s+mais|leia\s+mais|carregar\s+mais|cargar\s+m[áa]s|charger\s+plus|mehr\s+laden|carica\s+altr[ie]|saiba\s+mais|ler\s+(?:o\s+)?comunicado(?:\s+completo)?|lees\s+(?:meer|verder)|meer\s+nieuws(?:\s+laden)?|l[äa]s\s+mer|l[æe]s\s+mere?|czytaj\s+wi[ęe]cej|"
    r"(?:baca\s+)?selengkapnya|cite[șs]te\s+mai\s+mult|"
    # A release's attachment link: `Download PDF (245 KB)`, `Télécharger le communiqué`.
    r"download(?:\s+(?:the\s+)?(?:pdf|file|document|release|press\s+release|statement))?|"
    r"t[ée]l[ée]charger(?:\s+(?:le|la)\s+\w+)?|descargar(?:\s+(?:el\s+)?\w+)?|herunterladen|"
    r"share(?:\s+(?:this|on))?(?=\s*:?\s*(?:facebook|twitter|linkedin|e-?mail|whatsapp|x\b)))"
    r"\b(?P<rest>.*)",
    re.IGNORECASE,
)
# A row of share buttons: `Share on Facebook Share on X Share by email`, `Partager sur LinkedIn`.
_SHARE_VERBS: Final = frozenset(["share", "partager", "compartir", "teilen", "paylaş", "condividi", "delen", "dela"])
_SHARE_WORDS: Final = _SHARE_VERBS | frozenset([
    "on", "sur", "par", "por", "en", "auf", "per", "op", "by", "via", "to", "this", "article", "page", "story", "post",
    "facebook", "twitter", "x", "linkedin", "email", "e-mail", "mail", "whatsapp", "telegram", "reddit", "pinterest",
    "print", "copy", "link", "bluesky", "mastodon", "threads"])
_SHARE_START: Final = re.compile(r"(?:" + "|".join(sorted(_SHARE_VERBS)) + r")\b", re.IGNORECASE)


# `Subscribe to press releases`, `Sign up for our newsletter`, `Abonnez-vous`: a link to a mailing list.
_SUBSCRIBE: Final = re.compile(
    r"(?:subscribe|sign\s+up|s['’]abonner|abonnez-vous|suscr[íi]bete|suscribirse|abonnieren|abone\s+ol|"
    r"inscreva-se|assine|iscriviti|abonneer)\b",
    re.IGNORECASE,
)


def _is_share_row(text: str) -> bool:
    """A line of share buttons and nothing else, opening with the verb."""
    words = [w.strip(":|·,/-–").casefold() for w in text.split()]
    words = [w for w in words if w]
    return 2 <= len(words) <= 16 and words[0] in _SHARE_VERBS and all(w in _SHARE_WORDS for w in words)


# Tag and category lines: `Region Americas`, `Country USA`, `Topics: Health`.
_TAG_FIELD: Final = re.compile(
    r"(?:regions?|country|countries|topics?|themes?|tags?|category|categories|keywords?|"
    r"issues?|subjects?|type|filed\s+under|posted\s+in|location|lieu|ort|lugar|from|source|sources?|part\s+of|"
    # `Región Américas`, `País México` (an Amnesty page in Spanish), `Pays`, `Land`, `Paese`.
    r"r[ée]gi[óo]n|pa[íi]s(?:es)?|pays|paese|regione|(?:land|l[äa]nder)(?=\s*:)|"
    r"release\s+no\.?|ref(?:erence)?\.?(?:\s+no\.?)?|"
    # The same fields on French, Spanish, German and Turkish pages (`Thèmes : Santé`).
    r"th[èe]mes?|sujets?|mots[- ]cl[ée]s|[ée]tiquettes?|cat[ée]gories?|temas?|etiquetas?|categor[íi]as?|"
    r"palabras\s+clave|themen|schlagw[öo]rter|stichw[öo]rter|kategorien?|etiketler|konular|kategori)"
    r"\s*:?\s+\S.*",
    re.IGNORECASE,
)
# `AI Index: AFR 31/004/2003 (Public)`, `News Service No: 063`, `Ref.: UN/PR/1043`: a field holding a
# document's code: a label of a word or three, a colon, then a number and capitals, nothing in
# lower case but a parenthesised word (`Sudan: 26 dead` is a title).
_CODE_FIELD: Final = re.compile(r"[^\W\d][\w.’']*(?:\s+[^\W\d][\w.’']*){0,2}\s*:\s*(?P<value>.*\d.*)")
_CODE_TOKEN: Final = re.compile(r"[\d\W]*\d[\w/.\-]*|[A-Z]{2,}[\w/.\-]*|\([^()]{1,20}\)|[-–/|]|N[oº°]\.?", re.UNICODE)


def _is_code_field(text: str) -> bool:
    match = _CODE_FIELD.fullmatch(text) if len(text) <= 60 else None
    if match is None:
        return False
    tokens = match.group("value").split()
    return (0 < len(tokens) <= 5 and all(_CODE_TOKEN.fullmatch(t) for t in tokens)
            and _CONTACT.search(text) is None)  # `Tel: +964 751 234 5678` is a contact line


# `Health | Education`, `Klima · Energie`: a list of short topic names, nothing else.
_TOPIC_LIST: Final = re.compile(r"[^\W\d][^|·\d.!?:]{0,30}(?:\s[|·]\s[^\W\d][^|·\d.!?:]{0,30}){1,5}")
# Words of page headers and of tag lines: a line made only of them is chrome.
_CHROME_WORDS: Final = frozenset(
    ["press", "release", "releases", "news", "latest", "media", "centre", "center", "room", "newsroom", "you", "are", "here", "home", "opinion", "pieces", "piece", "op-eds", "op-ed", "statements", "statement", "speeches", "stories", "story", "articles", "article", "updates", "update", "feature", "features", "blog", "insights", "resources", "publications", "archive", "archives", "all", "our", "the", "and", "of", "de", "la", "le", "les", "des", "del", "y", "e", "et", "und", "and", "noticias", "noticia", "comunicado", "comunicados", "prensa", "nota", "notas", "communiqué", "communiqués", "presse", "actualité", "actualités", "aktuelles", "berichte", "bericht", "pressemitteilung", "pressemitteilungen", "presseaussendung", "presseaussendungen", "artikel", "basın", "bülteni", "bültenleri", "haber", "haberler", "duyuru", "duyurular", "açıklama", "nouvelles", "notícias", "imprensa", "comunicati", "stampa", "notizie", "arquivo", "archivo", "archiv", "archief", "archivio", "nieuws", "persberichten", "persbericht", "en", "og", "och", "ve", "&", "informativa", "informativo",
     "boletín", "boletim", "declaración", "discurso", "entrevista", "interview", "interviews",
     # An op-ed page's own name: `Third party contributions`, `Guest columns`, `Commentary`.
     "third", "party", "contributions", "guest", "columns", "commentary", "commentaries", "opinions",
     "viewpoints", "perspectives", "blogs",
     # Type labels over an item: `News note`, `Joint press release`, `Media advisory`, `Notícia`, `Storie`.
     "note", "notes", "joint", "advisory", "advisories", "notizia", "notícia", "storia", "storie", "história",
     "histórias", "historia", "historias", "medya", "odası", "merkezi", "in", "brief", "briefs", "most", "recent", "reportage", "reportages", "reportaje", "reportagem", "déclaration",
     "déclarations", "declaração", "dichiarazione", "erklärung", "stellungnahme", "haberi",
     "artículo", "artículos", "artigo", "artigos", "articolo", "articoli",
     # Russian and Ukrainian editions: `Новости`, `Пресс-релизы`, `Вы здесь` (`You are here`).
     "новости", "пресс-релиз", "пресс-релизы", "заявление", "заявления", "вы", "здесь", "главная", "новини",
     "прес-реліз", "прес-релізи", "ви", "тут", "головна", "и", "і", "та", "comunicato"]
)
_CHROME_FOLDED: Final = frozenset(fold_name(word) for word in _CHROME_WORDS)
_RESULT_COUNT: Final = re.compile(
    r"(?:(?:displaying|showing|results?|page|items?|stories|articles|releases|posts|entries|news|mostrando|exibindo|affichage|anzeige|visualizzati|"
    r"risultati|resultados|résultats|ergebnisse)\s*:?\s*)?\d[\d,.]*\s*(?:[-–]\s*\d[\d,.]*\s*)?"
    r"(?:of|de|von|sur|di|/)\s+\d[\d,.]*(?:\s+(?:results?|items?|résultats|resultados|ergebnisse(?:n)?|"
    r"risultati|sonuç))?"
    r"|(?:toplam\s+)?\d[\d,.]*\s+(?:results?|résultats|resultados|ergebnisse|sonuç|kay[ıi]t)(?:\s+bulundu)?"
    # `Showing 1 to 20 of 1,812 announcements from Department for International Development`
    r"|(?:showing|displaying|mostrando|exibindo|affichage)\s+\d[\d,.]*\s*(?:[-–]|to|a|à|bis|al)\s*\d[\d,.]*\s+"
    r"(?:of|de|sur|von|di)\s+\d[\d,.]*(?:\s+[^\W\d]+(?:\s+(?:from|in|for|de|du|des|del|von|aus)\s+\S.{0,80})?)?",
    re.IGNORECASE,
)
# A pager: `« Previous 1 2 3 … 53 Next »`, `Older posts »`, `Sayfa 2 / 9`.
_PAGER: Final = re.compile(
    r"(?:[«‹<←]+\s*)?(?:(?:previous|prev|next|older|newer|first|last|précédent|suivant|önceki|sonraki|"
    r"anterior|siguiente|seguinte|próxima|zurück|weiter|vorherige|nächste|volgende|vorige|precedente|successiva|"
    r"erste|letzte|premi[èe]re|derni[èe]re|primera|[úu]ltima|primeira|eerste|laatste|"
    r"page|sayfa|página|pagina|seite)\b[\w ]{0,12}|"
    r"\d{1,4}|…|\.\.\.|[«»‹›<>←→|/]|\s)+",
    re.IGNORECASE,
)
# `« Notícias anteriores`, `Next page ›`, `Articoli precedenti »`: a pager's link of a word or three
# beside its arrows (arrows on one side only: `«Nos quedamos sin nada»` is a quotation).
_ARROW_LINK: Final = re.compile(r"[«‹←]+\s*[^\W\d][^«»‹›<>←→\d]{1,30}|[^\W\d][^«»‹›<>←→\d]{1,30}[»›→]+")
# `Filter by year 2013 2012`, `Sort by: Newest`, `Filtrar por país | Filtrar por tema`: a listing's controls.
_CONTROLS: Final = re.compile(
    r"(?:filter(?:ed)?|filtrar|filtrer|filtern|filtra|filtrele|sort(?:ed)?|sortieren|ordenar|ordenado|trier|"
    r"tri[ée]s?|ordina(?:ti)?|s[ıi]rala|refine|browse|show)\s*(?:(?:by|por|par|nach|per|results|resultados)\b|:).{0,100}",
    re.IGNORECASE,
)
# `Home > Media centre > Press releases`, `Accueil › Actualités`: the path to the page, from its home.
_BREADCRUMB: Final = re.compile(
    r"(?:home(?:\s+page)?|accueil|inicio|in[íi]cio|startseite|start|ana\s+sayfa|anasayfa|homepage|pagina\s+iniziale|главная|головна)"
    r"\s*[>›»/|]\s*\S.{0,150}",
    re.IGNORECASE,
)
_PAGER_HINT: Final = re.compile(r"[«»‹›←→]|\b(?:older|newer|next|previous|prev|first|last)\b", re.IGNORECASE)
# What the hint needs, as plain text: the arrows, or its words in a line folded as names are
# (so that `İ`, `ı` and `ſ`, which re.IGNORECASE matches to ASCII letters, fold to them too).
_PAGER_HINT_PARTS: Final = ("«", "»", "‹", "›", "←", "→", "older", "newer", "next", "prev", "first", "last")
_DIGIT: Final = re.compile(r"\d")


def _openers(letters: str) -> frozenset[str]:
    """The characters a line may open with to match a pattern whose every word starts with one of
    `letters`, in either case: a set lookup rules a line out far faster than the pattern can.

    re.IGNORECASE matches four letters beyond ASCII to ASCII ones (the re module's documentation).
    """
    beyond = {"i": "İı", "s": "ſ", "k": "K"}
    return frozenset(letters + letters.upper() + "".join(beyond.get(ch, "") for ch in letters))


# What each pattern's words open with (tests/test_line_kinds.py checks them against the patterns).
BULLET_OPENERS: Final = frozenset("•·▪●◦‣∙*–—-")
LEFTOVER_OPENERS: Final = _openers("abcdefhlmnrstvw")
SHARE_OPENERS: Final = _openers("cdpst")
SUBSCRIBE_OPENERS: Final = _openers("ais")
TAG_FIELD_OPENERS: Final = _openers("cefiklmoprsté")
LABEL_OPENERS: Final = _openers("bclmnprsthv")
_CAPTION: Final = re.compile(r"©|\(c\)\s|^(?:image|picture|photo|foto|bild|illustration)\s*:|\bphoto(?:\s+credit)?s?\s*:|\bphoto\s+credit\b|\bcredit\s*:|\bfoto\s*:|"
                      r"\bcourtesy\s+of\b|/\s*(?:AFP|Reuters|AP|Getty)\b", re.IGNORECASE)
_CONTACT: Final = re.compile(
    r"^(?:for\s+(?:more|further)\s+information|media\s+contacts?|press\s+contacts?|contacts?\s*:|"
    r"for\s+media\s+(?:enquiries|inquiries)|pour\s+plus\s+d|contacto|kontakt)|"
    r"\b(?:tel|phone|mobile|cell|fax)\.?\s*:?\s*\+?\d|\+\d{1,3}[\s\d()-]{6,}|[\w.+-]+@[\w-]+\.[\w.]+|"
    r"^\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}$",
    re.IGNORECASE,
)
# A title or sentence cut by a hard line break ends on one of these.
_OPEN_WORDS: Final = frozenset(
    ["and", "or", "of", "for", "the", "a", "an", "to", "in", "on", "at", "with", "from", "by", "as", "its", "their", "de", "la", "le", "et", "und", "der", "die", "das", "y", "el", "en", "ve", "ile",
     "por", "para", "con", "los", "las", "del", "des", "du", "pour", "avec", "dans", "mit", "von", "zu", "für", "auf", "com", "em", "per", "di",
     "que", "qui", "dont", "où", "au", "aux", "les", "sur", "sans", "entre", "sobre", "sin", "che", "dass", "weil", "à"]
)
_TEASER_CUT: Final = re.compile(r"(?:\.\.\.?|…)\s*(?:\[?…\]?)?\s*\S{0,12}$")
MAX_TITLE: Final = 250


# A plain class, not a dataclass: the dataclass module writes __init__ as Python source at import,
# which the compiled parser would run interpreted for every line (a twentieth of its time). This
# __init__ is compiled with the rest; the features keep the defaults below until describe() sets them.
class Line:
    """A non-blank line of a listing with the features classification uses."""

    no: int  # 1-based line number in the source
    paragraph: str  # the normalised line, as a body paragraph keeps it
    text: str  # without its bullet, as a title keeps it
    gap: bool  # a blank or label line (or the file's start) comes right before it
    bullet: bool
    kind: int = TEXT
    date: dt.date | None = None
    date_tag: str | None = None  # `Communiqués` in `Communiqués 02.06.2023`
    updated: bool = False  # `Last updated …`: the page's date, not a release's
    author: str | None = None
    heading: bool = False  # short and shaped like a title or a section heading
    titleish: bool = False  # a title even without a dateline under it
    ends_sentence: bool = False
    sep_dateline: bool = False  # opens with `Place –`
    strong_dateline: bool = False  # a known place, an all-capital one or a date before the dash
    found_dateline: Dateline | None = None  # read once here, used again when the body is assembled
    known_place: Dateline | None = None  # `Geneva The …`
    words: int = 0
    dateline: bool = False  # opens with a dateline, gazetteer-only ones (`Geneva The …`) included
    leftover: bool = False  # `Read more`, `Continue reading “…”`
    chrome: bool = False  # made of page-header words (`Press Releases`, `The Latest News`)
    crumb: bool = False  # the path to the page (`Home > Media > Press releases`): chrome at the header's top
    tag: bool = False  # `Region Americas`, `Press Release`, a short line repeated in the file
    caption: bool = False  # photo caption or credit
    count: bool = False  # `1 - 7 of 7 results`
    teaser: bool = False  # cut with `…` / `...`
    inner: int = 0  # sentence ends inside the line
    indent: int = 0  # leading spaces in the source (a tab counts 4)
    contact: bool = False  # `Tel: +41 …`, `For more information, contact …`
    open_end: bool = False  # ends on `and`, `of`, a comma: the line goes on below
    period_end: bool = False
    dated_title: bool = False  # `12 April 2022 — Title`
    month_heading: bool = False  # `Febrero 2002`
    quoted: str | None = None  # the title a leftover names: `Continue reading “Summer of smoke”`

    def __init__(self, no: int, paragraph: str, text: str, gap: bool, bullet: bool) -> None:
        self.no = no
        self.paragraph = paragraph
        self.text = text
        self.gap = gap
        self.bullet = bullet

    def __repr__(self) -> str:
        return f"Line({self.no}, {self.text!r}, kind={self.kind})"


_PUNCTUATION: Final = "\"“”‘’'«»()[]{}.,;:!?|/\\-–—•·*>›»<‹"


def is_chrome(text: str) -> bool:
    """A line made only of page-header words (`Press Releases`, `Aktuelles und Berichte`)."""
    # Folded as names are (`BASIN BÜLTENLERİ` is `Basın bültenleri`: Turkish capitals fold oddly).
    # Bars and dashes between the words are not words (`Archive: 2019 | 2018 | 2017`).
    # Word by word, so that a line is ruled out at its first word that is no page-header word.
    chrome = _CHROME_FOLDED
    count = 0
    named = False  # a year alone is no heading: `Press releases 2002` is, `2002` is not
    for word in fold_name(text).split():
        word = word.strip(_PUNCTUATION)
        if not word:
            continue
        count += 1
        if count > 6:
            return False
        if word in chrome:
            named = True
        elif len(word) == 4 and word.isdigit() and word[:2] in ("19", "20"):
            continue
        # An organisation's acronym before its page's name: `IACHR Press Releases` (alone it names nothing).
        elif count > 1 or not _is_acronym_word(text.split()[0]):
            return False
    return named


def _is_acronym_word(word: str) -> bool:
    word = word.strip(_PUNCTUATION)
    return 2 <= len(word) <= 8 and word.isupper() and word.isalpha()


# `3 min read`, `Lesezeit: 4 Min.`: how long a piece takes to read, printed beside its type.
_READING_TIME: Final = re.compile(
    r"(?:\d+\s*(?:min(?:ute)?s?|min\.)\s+(?:read|reading|de\s+lecture|de\s+leitura|de\s+lectura|di\s+lettura|"
    r"leestijd|okuma)|(?:reading\s+time|read\s+time|lesezeit|lesedauer|temps\s+de\s+lecture|tiempo\s+de\s+lectura|"
    r"tempo\s+de\s+leitura|leestijd|okuma\s+s[üu]resi)\s*:?\s*\d+\s*(?:min(?:ute)?s?|min\.|minuten|dakika)?)\.?",
    re.IGNORECASE,
)

_READING_HINT: Final = re.compile(r"min|time|les|leit|lect|lett|okuma", re.IGNORECASE)


def _is_reading_meta(text: str, digits: bool) -> bool:
    """`Press release | 3 min read`: a reading time, maybe with a word or three of type beside it.

    `digits`: whether the line holds a digit (a reading time has one).
    """
    if not digits or _READING_HINT.search(text) is None:
        return False
    parts = META_PARTS.split(text)
    return any(_READING_TIME.fullmatch(part.strip()) for part in parts) and all(
        len(part.split()) <= 4 for part in parts)


# `Posted in Advocacy | Tagged World Water Day | 1 Comment`: a blog post's footer.
_POST_FOOTER: Final = re.compile(
    r"(?:(?:posted|filed)\s+in\s+.+|tagged\s+.+|\d+\s+comments?|leave\s+a\s+(?:comment|reply)|no\s+comments|"
    r"comments?\s*\(\d+\)|add\s+new\s+comment)",
    re.IGNORECASE,
)


def _is_post_footer(text: str) -> bool:
    return all(_POST_FOOTER.fullmatch(part.strip()) is not None for part in text.split("|"))


def _is_topic_list(text: str) -> bool:
    """`Health | Rural development`: two or more topic names of a word or three between bars."""
    if ("|" not in text and "·" not in text) or _TOPIC_LIST.fullmatch(text) is None:
        return False
    return all(len(part.split()) <= 3 for part in META_PARTS.split(text))


# `Pressemitteilung vom 12. Mai 2021`, `Communiqué du 3 mai 2021`: a document type, then its date.
_TYPE_OF_DATE: Final = re.compile(r"(?P<kind>[^\d|·]{3,40}?)\s+(?:vom|du|del|de|of|from|dated)\s+(?P<date>.*\d.*)", re.IGNORECASE)


# `Posted in Press Releases, Uganda on February 26, 2014`: the categories, then the date.
_POSTED_IN: Final = re.compile(r"(?:posted|filed|published)\s+(?:in|under)\s+(?P<kind>[^\d|]{2,60}?)\s+on\s+(?P<date>.*\d.*)",
                        re.IGNORECASE)
# `Submitted by admin on Wed, 2007-05-16 14:32`: a content system's account, not a byline's author.
_SUBMITTED_BY: Final = re.compile(r"(?:submitted|uploaded|added)\s+by\s+(?P<kind>[^\d|]{1,40}?)\s+on\s+(?P<date>.*\d.*)",
                           re.IGNORECASE)


def _labelled_date(text: str, order: str | None) -> tuple[dt.date | None, str | None] | None:
    """(date, tag) of a date line with words a plain date line lacks, else None.

    A document type joined to its date by a preposition; or `Publicado el 3 de mayo de 2019
    por Comunicación`, a posted-on line whose poster is an office, not an author.
    """
    if len(text) > 120 or _DIGIT.search(text) is None:
        return None
    typed = _TYPE_OF_DATE.fullmatch(text)
    if typed is not None and is_chrome(typed.group("kind")):
        found = read_date_line(typed.group("date"), order)
        if found is not None and found[1] is None:
            return found[0], typed.group("kind")
    filed = _POSTED_IN.fullmatch(text) or _SUBMITTED_BY.fullmatch(text)
    if filed is not None:
        found = read_date_line(filed.group("date"), order)
        if found is not None and found[1] is None:
            return found[0], filed.group("kind")
    posted = POSTED_ON_BY.fullmatch(text)
    if posted is not None:
        found = read_date_line(posted.group("date"), order)
        if found is not None and found[1] is None:
            return found
    return None


def _is_count(text: str, digits: bool) -> bool:
    """A result count or a pager (`1 - 7 of 7 results`, `« Previous 1 2 3 Next »`), or a row of them.

    `digits`: whether the line holds a digit (describe() has looked already).
    """
    if not digits and not _pager_hint(text):
        return False
    # `Showing 1 - 4 of 212 | Next »`, `42 résultats – page 1 sur 9`: a count and a pager side by side
    # (`1 - 7 of 7 results` holds a dash of its own: a part is read whole before it is split at dashes).
    if _is_count_part(text):
        return True
    if "|" not in text and _DASHES.search(text) is None:
        return False
    return all(_is_count_part(part.strip()) or all(_is_count_part(piece.strip()) for piece in _DASHES.split(part))
               for part in text.split("|"))


_DASHES: Final = re.compile(r"\s+[–—·-]\s+")


def _pager_hint(text: str) -> bool:
    """An arrow or a pager's word (`Older posts`, `Next »`) in a line without digits."""
    folded = fold_name(text)
    for part in _PAGER_HINT_PARTS:
        if part in folded:
            return _PAGER_HINT.search(text) is not None
    return False


def _is_count_part(part: str) -> bool:
    return (not part or _RESULT_COUNT.fullmatch(part) is not None or _PAGER.fullmatch(part) is not None
            or (len(part.strip("«»‹›←→ ").split()) <= 3 and _ARROW_LINK.fullmatch(part) is not None))


# Words of an organisation's name, which stands where a person's would (`Human Rights Watch | …`).
_ORGANISATION_WORDS: Final = frozenset(
    ["watch", "international", "rights", "nations", "council", "fund", "programme", "program", "organization",
     "organisation", "agency", "children", "aid", "relief", "committee", "federation", "society", "foundation",
     "union", "ministry", "institute", "crescent", "cross", "frontières", "bank", "alliance", "network",
     "coalition", "group", "association", "trust", "partners", "health", "world", "global", "refugee", "refugees"])
# Page-header words (but not the particles names share with them: `de`, `la`, `e`) and type words.
_NOT_A_PERSON: Final = _ORGANISATION_WORDS | (_CHROME_FOLDED - frozenset(
    ["de", "la", "le", "les", "des", "del", "y", "e", "et", "und", "and", "en", "og", "och", "ve", "&", "the", "of"])) | frozenset(
    ["comment", "analysis", "editorial", "column", "op-ed", "oped", "reaction", "briefing"])


# Between a name and its date: a bar, a middle dot or a spaced dash (`Ruth Achterberg — 14 June 2022`).
_NAME_DATE_SPLIT: Final = re.compile(r"\s+[|·—–]\s+")
# Type words an op-ed page prints beside the name and the date (`12 May 2023 · Commentary · NAME`).
_PIECE_TYPES: Final = OPINION_WORDS | frozenset(["guest post", "interview", "feature", "essay", "perspective", "viewpoint"])


def _name_and_date(text: str, order: str | None) -> tuple[str, dt.date] | None:
    """(author, date) of `NAME | DATE`, `DATE · Commentary · NAME` or `NAME — DATE` when NAME is a person's,
    not a place, a type or an organisation."""
    if len(text) > 140 or not ("|" in text or "·" in text or "—" in text or "–" in text):
        return None
    parts = [part.strip() for part in _NAME_DATE_SPLIT.split(text)]
    if not 2 <= len(parts) <= 4:
        return None
    # Medium: `Hannah Ellery · Jan 12, 2023 · 5 min read`; the type beside them says nothing of the author.
    kept = [part for part in parts
            if part and _READING_TIME.fullmatch(part) is None and part.casefold() not in _PIECE_TYPES]
    names = [part for part in kept if not any(ch.isdigit() for ch in part)]
    if len(kept) != 2 or len(names) != 1 or not 4 <= len(names[0]) <= 60:
        return None
    name = names[0]
    date = kept[1] if kept[0] is name else kept[0]
    if kept[0] is not name and not any(part.casefold() in _PIECE_TYPES for part in parts):
        return None  # `21.03.2019 | Community Centres`: after a date, a category; a name only beside a type
    author = _person(name)
    if author is None:
        return None
    found = read_date_line(date, order)
    if found is None or found[0] is None or found[1] is not None:
        return None
    return author, found[0]


def _person(name: str) -> str | None:
    """The author a bare name names: not a tag field, a place, an organisation or a page's words."""
    folded = fold_name(name)
    if (_TAG_FIELD.fullmatch(name) is not None or {folded, folded + " city"} & place_names()
            or any(fold_name(part.strip()) in place_names() for part in name.split(","))
            or any(word.strip(",") in _NOT_A_PERSON for word in folded.split())):
        return None
    return parse_byline("By " + name)


def names_over_reading_times(lines: Sequence[Line]) -> None:
    """`Hannah Ellery` glued over `September 14, 2020 · 5 min read`: a blog's op-ed prints its
    author's name alone over the date and reading time. Such a name line is a byline."""
    for above, line in itertools.pairwise(lines):
        if (line.kind != DATE or line.gap or above.kind != TEXT or above.bullet or above.words > 4
                or any(ch.isdigit() for ch in above.text) or _READING_TIME.search(line.text) is None):
            continue
        author = _person(above.text)
        if author is not None:
            above.kind, above.author = BYLINE, author


def is_label(text: str) -> bool:
    """Navigation words of a scraped page (`Press Releases`, `Read more`): neither release nor paragraph."""
    return len(text) <= _MAX_LABEL and text[:1] in LABEL_OPENERS and _LABEL.fullmatch(text) is not None


def describe(no: int, paragraph: str, gap: bool, indent: int = 0, order: str | None = None) -> Line:
    """A normalised, non-blank line with what it looks like: date line, byline, heading, body."""
    first = paragraph[0]
    bullet_match = _BULLET.match(paragraph) if first in BULLET_OPENERS or first.isdigit() else None
    if bullet_match and first.isdigit() and read_date_line(paragraph, order) is not None:
        bullet_match = None  # `14. 01. 2022` is a date, not item 14
    text = paragraph[bullet_match.end():] if bullet_match else paragraph
    line = Line(no, paragraph, text, gap, bullet_match is not None)
    line.indent = indent
    stripped_text = text.strip(" -–—:|")
    line.chrome = len(stripped_text) <= 60 and (is_chrome(stripped_text) or is_label(stripped_text))
    if not line.chrome and len(text) <= 160 and text[:1].casefold() in "fsotbrahipг":
        line.crumb = _BREADCRUMB.fullmatch(text) is not None
        line.chrome = line.crumb or _CONTROLS.fullmatch(text) is not None
    short = len(text) <= 80
    # Every date is written with digits: most titles have none, and need no date reader.
    digits = _DIGIT.search(text) is not None
    line.count = short and _is_count(stripped_text, digits)
    byline = read_byline(text) or (_name_and_date(text, order) if digits else None)
    if byline is not None:
        line.kind, (line.author, line.date) = BYLINE, byline
        return line
    found = (read_date_line(text, order) or _labelled_date(text, order)) if digits else None
    if found is not None:
        line.kind, (line.date, line.date_tag) = DATE, found
        line.updated = is_updated_line(text)
        return line
    meta_date = parse_meta_line(text) if digits else None
    if meta_date is not None:
        # `18 December 2019 | Geneva`: the place beside a date is no dateline, and only a
        # dateline opening the body gives a release its location.
        line.kind, line.date = DATE, meta_date
        return line
    # `[ Back to top ]`, `» Ler comunicado completo`, `>> more`: a link's words in brackets or after arrows.
    link = stripped_text.lstrip("[(«»›>→ ")
    leftover = _LEFTOVER.match(link) if len(text) <= 300 and link[:1] in LEFTOVER_OPENERS else None
    if leftover is not None:
        rest = leftover.group("rest").strip()
        # `Read story- News`, `Continue reading “The title”`: the link's words and a
        # quoted title or a glued tag, but not a sentence that opens with `More …`.
        line.leftover = not rest or rest[0] in "\"“‘«-–:…»›>→" or len(rest.split()) <= 2
        if line.leftover and len(rest) > 2 and rest[0] in "\"“‘«" and rest[-1] in "\"”’»":
            line.quoted = rest[1:-1].strip()  # the title the link repeats
    opener = stripped_text[:1]
    if not line.leftover and opener in SHARE_OPENERS and _SHARE_START.match(stripped_text) is not None:
        line.leftover = _is_share_row(stripped_text)
    if (not line.leftover and len(text) <= 60 and opener in SUBSCRIBE_OPENERS
            and _SUBSCRIBE.match(stripped_text) is not None):
        line.leftover = not line.text.endswith(".")
    field = opener in TAG_FIELD_OPENERS
    line.tag = ((short and len(text.split()) <= 8 and (
        (field and _TAG_FIELD.fullmatch(stripped_text) is not None) or _is_topic_list(stripped_text)
        or _is_reading_meta(stripped_text, digits) or (":" in text and _is_code_field(stripped_text))
        or (text.startswith("#") and all(w.startswith("#") and len(w) > 1 for w in text.split()))))  # `#Kenya #Drought`
        # A field's value may run long (`From: Department for International Development and Foreign & …`).
        or (field and len(text) <= 160 and ":" in text[:20] and _TAG_FIELD.fullmatch(stripped_text) is not None)
        or (len(text) <= 200 and text[:1] in "PpTtFf0123456789LlNnCcAa" and _is_post_footer(stripped_text)))
    line.month_heading = short and digits and is_month_heading(stripped_text)
    # Cheap tests first: most lines hold none of these, and a regex searched from
    # every position of a long body line is what parsing spends its time on.
    lowered = text.casefold()
    line.caption = (
        ("©" in text or "photo" in lowered or "credit" in lowered or "image" in lowered or "picture" in lowered
         or "bild" in lowered or "illustration" in lowered or "foto" in lowered
         or "courtesy" in lowered or "(c)" in lowered or "/" in text)
        and _CAPTION.search(text) is not None
    )
    line.teaser = ("..." in text[-24:] or "…" in text[-24:]) and _TEASER_CUT.search(text[-24:]) is not None
    line.contact = (
        ("@" in text or "+" in text or text[:1] == "(" or "tel" in lowered or "phone" in lowered or "contact" in lowered
         or "information" in lowered or "mobile" in lowered or "fax" in lowered or "kontakt" in lowered)
        and _CONTACT.search(text) is not None
    )
    line.open_end = text[-1] in ",&–—-" or text.rsplit(None, 1)[-1] in _OPEN_WORDS
    size = len(text)
    stripped = text.rstrip(_CLOSERS)
    line.ends_sentence = stripped.endswith((".", "!", "?", "…"))
    ends_period = stripped.endswith((".", "…"))
    line.period_end = stripped.endswith(".") and not stripped.endswith("...")
    found_dateline = split_dateline(text, gazetteer_only_ok=False)
    if (found_dateline is not None and found_dateline.place is None and len(found_dateline.rest) <= 160
            and not found_dateline.rest.rstrip(_CLOSERS).endswith(".")):
        # `12 April 2022 — Community water points restored`: a date, then a title, not a
        # bare-date dateline opening a body.
        line.dated_title = True
        found_dateline = None
    line.sep_dateline = found_dateline is not None
    line.found_dateline = found_dateline
    if found_dateline is None:
        line.known_place = known_place_start(text)
    line.dateline = line.sep_dateline or line.known_place is not None
    if found_dateline is not None:
        place = found_dateline.place or ""
        known = place_names()
        # `Desalination — the costly fix` is a title with a dash; `Ankara –`, `KYIV, Ukraine –`
        # and a dated head are datelines beyond doubt.
        line.strong_dateline = (
            found_dateline.date is not None
            or not any(ch.islower() for ch in text[: len(text) - len(found_dateline.rest)])
            or any(fold_name(part.strip()) in known for part in place.split(","))
        )
    words = text.split()
    line.words = len(words)
    # Past a title's length the count decides nothing more (such a line is no title, tag or section).
    if size > MAX_TITLE:
        inner = 2
    elif "." in text or "!" in text or "?" in text:
        inner = len(_INNER_SENTENCE.findall(text))
    else:
        inner = 0  # no stop, no sentence ending inside
    line.inner = inner
    if size > MAX_TITLE or text[0].islower() or text.endswith(":"):
        return line
    # The share of capitalised words is counted only where it decides something (it is the
    # costliest test here): a sentence-like line short enough to be a title, a long heading.
    capitals = -1.0
    if line.bullet or (not ends_period and inner <= 1):
        heading = True
    elif size <= 160 and inner <= 1:
        capitals = title_case(words)
        heading = capitals >= 0.45
    else:
        heading = False
    line.heading = heading and not line.sep_dateline
    line.titleish = (
        line.heading
        and not ends_period
        and line.words >= 2
        and (size <= 120 or (capitals if capitals >= 0 else title_case(words)) >= 0.5)
    )
    return line


def title_case(words: list[str]) -> float:
    """Share of significant words that start with a capital (0.0 for scripts without case)."""
    upper = lower = 0
    minor = _MINOR_WORDS
    for word in words:
        first = word[0]
        if first in "\"“‘'(«[":
            word = word.lstrip("\"“‘'(«[")
            if not word:
                continue
            first = word[0]
        if first.isupper():
            if len(word) > 4 or word.casefold() not in minor:  # `The`, `Of` do not count
                upper += 1
        elif first.islower() and word not in minor:
            lower += 1
    total = upper + lower
    return upper / total if total else 0.0
