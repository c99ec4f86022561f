"""The languages the staged design's code reads, and what it does for a language it cannot read.

The model reads French, Spanish, Portuguese and Arabic news as well as English,
so no language gate stands before it. The code's own word knowledge is per
language:

- weekday and month names, and "yesterday" / "today" / "last week", come from
  dateparser's locale data (some 200 languages, maintained for news scrapers);
- number words become digits through text2num's `alpha2digit` (en, fr, es, pt),
  and Arabic-Indic digits become ASCII digits;
- event cues (is this sentence about violence at all?) and death words (does
  it state deaths?) are short per-language lists, here.

For any other language the code steps aside: every sentence is a candidate,
the model's numbers are kept when the sentence states them as digits, and dates
fall back to the story's reference day unless the sentence gives a weekday or a
month in a language dateparser knows.

The article's language is set for the duration of one extraction
(`reading(lang)`), so the date and toll helpers need no extra argument.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

ENGLISH = "en"
# Languages whose cue and death words are listed below; others get the step-aside behaviour.
READ = ("en", "fr", "es", "pt", "ar")
NUMBER_WORD_LANGUAGES = ("en", "fr", "es", "pt")

_STOPWORDS = {
    "en": "the and of to in was were is are said on at by with for from that this has have had killed".split(),
    "fr": "le la les des et du une dans est ont été sur par au aux qui que selon ce cette pour".split(),
    "es": "el la los las y del en una que por con fue según se al para este esta han".split(),
    "pt": "o os as e do da dos das em uma que por com foi segundo no na nos ao para".split(),
}
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Word stems that mark a sentence as possibly reporting violence or a demonstration.
CUES = {
    "fr": r"\b(tu[ée]|mort|décè|décéd|bless|attaqu|assaut|affront|combat|frappe|bombard|explos|obus|roquette|"
    r"missile|drone|mine\b|engin explosif|kamikaze|manifest|protest|émeute|lynch|foule|enlev|kidnapp|otage|"
    r"arrest|interpell|captur|repris|s'empar|tir|fusill|massacr|incendi|pill|gaz lacrymogène|dispers|embuscade|"
    r"viol|exécut|décapit|cessez-le-feu|accord|djihad|jihad|insurg|rebelle|milice)",
    "es": r"\b(muert|muri|asesin|matar|mataron|fallec|herid|ataque|atac|asalto|enfrent|combat|bombarde|explos|"
    r"obús|cohete|misil|dron|mina\b|artefacto explosivo|suicida|manifest|protest|disturbio|linch|turba|secuestr|"
    r"rehén|detenid|arrest|captur|tiroteo|dispar|balacera|masacr|incendi|saque|gas lacrimógeno|dispers|emboscada|"
    r"viol|ejecut|decapit|alto el fuego|acuerdo|guerriller|milicia|sicari)",
    "pt": r"\b(mort|morre|morreu|assassin|matar|mataram|falec|ferid|ataque|atac|assalto|confront|combat|bombarde|"
    r"explos|obus|foguete|míssil|drone|mina\b|artefato explosivo|suicida|manifest|protest|tumulto|linch|multidão|"
    r"sequestr|refém|detid|pres[oa]s?\b|captur|tiroteio|dispar|massacr|incendi|saque|gás lacrimogéneo|"
    r"gás lacrimogêneo|dispers|emboscada|estupr|viol|execut|decapit|cessar-fogo|acordo|insurg|milícia)",
    "ar": r"(قتل|مقتل|قتلى|قتيل|مصرع|حتفه|استشهد|شهداء|جرح|جرحى|إصاب|اصاب|هجوم|هاجم|اشتباك|معارك|قتال|غارة|غارات|"
    r"قصف|انفجار|تفجير|عبوة|لغم|صاروخ|صواريخ|قذائف|مسيرة|مسيّرة|انتحاري|احتجاج|مظاهر|متظاهر|تظاهر|شغب|اختطاف|"
    r"خطف|رهائن|اعتقال|اعتقل|مسلح|إطلاق النار|اطلاق النار|مجزرة|إحراق|نهب|الغاز المسيل للدموع|تفريق|كمين|اغتصاب|"
    r"إعدام|وقف إطلاق النار|اتفاق)",
}
# Words that state deaths ("killed", "dead"), per language; English's is in text.py.
DEATHS = {
    "fr": r"\b(tu[ée]s?|tuées|tuant|morts?|mortes?|décès|décédé\w*|périr|péri|abattu\w*|massacr\w*|exécut\w*|"
    r"sans vie|corps|cadavres|ont perdu la vie)\b",
    "es": r"\b(muert[oa]s?|muerte|murió|murieron|mueren|asesinad\w*|asesinat\w*|matad\w*|mataron|mató|fallecid\w*|"
    r"falleci\w*|sin vida|cadáveres|cuerpos|ejecutad\w*|perdieron la vida)\b",
    "pt": r"\b(mort[oa]s?|morte|morreu|morreram|morrem|assassinad\w*|matad\w*|mataram|matou|falecid\w*|"
    r"sem vida|cadáveres|corpos|executad\w*|perderam a vida)\b",
    "ar": r"(قتل|مقتل|قتلى|قتيل|قتيلا|مصرع|حتفه|حتفهم|استشهد|شهداء|شهيد|جثث|جثة|أعدم)",
}
# Harm a sentence may state beyond deaths: rape and abduction (for the sweep of sentences the list left out).
HARMS = {
    "fr": r"\b(viol[ée]?s?|violées|enlev\w*|kidnapp\w*|lynch\w*)\b",
    "es": r"\b(violad\w*|violaci\w*|secuestr\w*|linchad\w*)\b",
    "pt": r"\b(estuprad\w*|violad\w*|sequestrad\w*|raptad\w*|linchad\w*)\b",
    "ar": r"(اغتصاب|اغتصب|اختطاف|اختطف|خطف)",
}

# Running totals and tallies over a period (the codebook's first exclusion), per language; English's is in text.py.
TOTALS = {
    "fr": r"\bdepuis (?:le )?(?:début|debut|janvier|le début de l'année|le début de l’année|20\d\d|19\d\d)|"
    r"\bdepuis le début\b|\bau total\b|\ben tout\b|\bcette année\b|\bdepuis l'an\b",
    "es": r"\ben lo que va del? (?:año|mes)\b|\bdesde (?:el )?(?:inicio|comienzo|principio)\b|\bdesde (?:enero|20\d\d|19\d\d)\b|"
    r"\ben total\b|\beste año\b",
    "pt": r"\bdesde o (?:início|inicio|começo|começo do ano)\b|\bdesde (?:janeiro|20\d\d|19\d\d)\b|\bno total\b|"
    r"\beste ano\b|\bem \d{4}\b.*\bdesde\b",
    "ar": r"(منذ بداية|منذ مطلع|منذ عام|منذ اندلاع|منذ بدء|حتى الآن هذا العام|في المجمل|إجمالي)",
}

_language: contextvars.ContextVar[str] = contextvars.ContextVar("article_language", default=ENGLISH)


def language_of(text: str) -> str:
    """ "en", "fr", "es", "pt", "ar", or "und" (undetermined: none of these) for an article's text."""
    letters = _LETTER.findall(text[:20000])
    if not letters:
        return ENGLISH
    if sum(1 for ch in letters if _ARABIC.match(ch)) / len(letters) > 0.3:
        return "ar"
    words = [w.lower() for w in _WORD.findall(text[:20000])]
    if not words:
        return ENGLISH
    hits = {lang: sum(1 for w in words if w in set(stop)) for lang, stop in _STOPWORDS.items()}
    best = max(hits, key=lambda lang: hits[lang])
    if hits[best] / len(words) < 0.05:
        return "und"
    return best


def current() -> str:
    """The language of the article being extracted (English outside an extraction)."""
    return _language.get()


@contextlib.contextmanager
def reading(lang: str) -> Iterator[None]:
    token = _language.set(lang)
    try:
        yield
    finally:
        _language.reset(token)


def digits_for_words(text: str, lang: str | None = None) -> str:
    """Number words as digits ("two hundred" -> "200", "trois" -> "3"), Arabic-Indic digits as ASCII.

    Keeps every character offset meaningful only within the returned string:
    callers use it to read numbers, never to locate evidence.
    """
    lang = lang or current()
    text = "".join(str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch for ch in text)
    if lang in NUMBER_WORD_LANGUAGES:
        from text_to_num import alpha2digit

        # "thousands", "des centaines": a crowd, not a count; kept as words (each segment parsed alone).
        parts = _VAGUE.split(text)
        try:
            return "".join(p if i % 2 else alpha2digit(p, lang, threshold=0) for i, p in enumerate(parts))
        except Exception:  # a parser edge case must not lose the sentence
            return text
    return text


_VAGUE = re.compile(
    r"(\b(?:hundreds|thousands|millions|dozens|tens|scores|centaines|milliers|millions|dizaines|douzaines|"
    r"cientos|miles|millones|decenas|docenas|centenas|milhares|milhões|dezenas|dúzias)\b)",
    re.IGNORECASE,
)


@lru_cache(maxsize=16)
def _pattern(table: str, lang: str) -> re.Pattern[str] | None:
    source = {"cues": CUES, "deaths": DEATHS, "harms": HARMS, "totals": TOTALS}[table].get(lang)
    return re.compile(source, re.IGNORECASE) if source else None


def cue_pattern(lang: str) -> re.Pattern[str] | None:
    return _pattern("cues", lang)


def death_pattern(lang: str) -> re.Pattern[str] | None:
    return _pattern("deaths", lang)


def total_pattern(lang: str) -> re.Pattern[str] | None:
    return _pattern("totals", lang)


def harm_pattern(lang: str) -> re.Pattern[str] | None:
    return _pattern("harms", lang)


@lru_cache(maxsize=16)
def date_words(lang: str) -> dict[str, object]:
    """Weekday and month names and relative-day words of `lang`, from dateparser's locale data.

    Returns {"weekdays": {name: 0..6}, "months": {name: 1..12}, "relative": {phrase: days ago}};
    short abbreviations (under four letters) are left out: "mar" is Tuesday, March and a word.
    """
    try:
        from dateparser.languages.loader import default_loader

        info = default_loader.get_locale(lang).info
    except Exception:
        return {"weekdays": {}, "months": {}, "relative": {}}
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    months = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december"]  # fmt: skip
    weekdays = {n.lower(): i for i, d in enumerate(days) for n in info.get(d, []) if len(n) >= 4}
    month_names = {n.lower(): i for i, m in enumerate(months, start=1) for n in info.get(m, []) if len(n) >= 3}
    relative: dict[str, int] = {}
    for key, phrases in (info.get("relative-type") or {}).items():
        m = re.fullmatch(r"(\d+) (day|week) ago", key)
        if m:
            ago = int(m.group(1)) * (7 if m.group(2) == "week" else 1)
            for phrase in phrases:
                if len(phrase) >= 3 and not re.search(r"[{}\\(]", phrase):
                    relative[phrase.lower()] = ago
    return {"weekdays": weekdays, "months": month_names, "relative": relative}
