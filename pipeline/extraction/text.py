"""What code reads from an article's text in the staged design, without the model.

Sentences with char offsets and which are candidates or running totals; dates
resolved against the story's reference day; the numbers and death tolls a
sentence states; its source; where a model's quote is. `DEATH_WORDS` and
`HARM_WORDS` are shared with `staged.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.extraction import languages

MAX_SENTENCE_CHARS = 400

# ---------------------------------------------------------------------------
# 1. sentences and candidates
# ---------------------------------------------------------------------------


@dataclass
class Sentence:
    number: int
    start: int
    end: int
    text: str


_ABBREVIATIONS = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Gen|Col|Lt|Sgt|Capt|St|No|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|U\.S|U\.N|Gov|Rep|Sen)\.$"
)
# A sentence ends at . ! ? (or Arabic ؟) before a capital, a digit, or a letter of a script without case.
_BOUNDARY = re.compile(r"[.!?؟][\"'”’»)]*\s+(?=[\"'“‘«(]?(?:[A-Z0-9À-ÖØ-Þ]|[\u0600-\u06FF]))")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with offsets into `text`; lines (headlines, datelines) end a sentence too."""
    sentences: list[Sentence] = []
    for line_match in re.finditer(r"[^\n]+", text):
        line = line_match.group(0)
        base = line_match.start()
        pos = 0
        for boundary in _BOUNDARY.finditer(line):
            head = line[pos : boundary.start() + 1]
            if _ABBREVIATIONS.search(head.rstrip()) or len(head.strip()) < 3:
                continue
            _add(sentences, text, base + pos, base + boundary.start() + 1)
            pos = boundary.end()
        _add(sentences, text, base + pos, base + len(line))
    return sentences


def _add(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    # Keep the closing quote mark with its sentence.
    while end < len(text) and text[end] in "\"'”’)":
        end += 1
    if end - start >= 2:
        sentences.append(Sentence(len(sentences) + 1, start, end, text[start:end]))


_CUE = re.compile(
    r"\b(kill|dead|death|died|dying|lives|clash|fight|battl|attack|assault|offensive|strike|struck|raid|"
    r"bomb|shell|missile|rocket|mortar|artillery|explo|blast|mine\b|ied\b|grenade|protest|demonstrat|"
    r"march|rally|rallies|riot|lynch|mob\b|abduct|kidnap|hostage|arrest|detain|seiz|captur|recaptur|retak|"
    r"took back|overran|overrun|gunmen|gunman|shot|shoot|opened fire|fired|massacre|execut|wound|injur|custody|"
    r"torch|burn|loot|tear gas|tear-gas|teargas|water cannon|rubber bullets|broke up|hurt|disperse|ambush|air raid|"
    r"pound|bombard|rape|violat|behead|decapitat|took over|taken over|"
    r"truce|ceasefire|cease-fire|peace deal|agreement|signed)",
    re.IGNORECASE,
)


_TOLL_ONLY = re.compile(r"\b(?:dead|death|deaths|died|dying|lives|toll|wound\w*|injur\w*)\b", re.IGNORECASE)


def only_a_toll(text: str) -> bool:
    """Does the sentence count the dead or hurt without telling any act ("In the capital, 30 people died",
    "they had counted at least 13 dead")? Such a sentence updates the toll of an incident told elsewhere.
    English only: elsewhere the code has no word for an act, and says no."""
    if languages.current() != languages.ENGLISH or not _TOLL_ONLY.search(text):
        return False
    return not _CUE.search(_TOLL_ONLY.sub(" ", text))


def is_candidate(sentence: Sentence) -> bool:
    """Might this sentence report an event? A cost filter before the model, in the article's language.

    In a language the code has no cue words for, every sentence of some length
    is a candidate: the model decides.
    """
    if len(sentence.text) < 25:
        return False
    lang = languages.current()
    if lang == languages.ENGLISH:
        return bool(_CUE.search(sentence.text))
    cue = languages.cue_pattern(lang)
    return cue is None or bool(cue.search(sentence.text))


# ---------------------------------------------------------------------------
# 2. dates: resolved by code against the story's reference day
# ---------------------------------------------------------------------------

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_WD = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"
_REPORTING = (
    r"(said|says|say|told|reported|reports|announced|confirmed|added|stated|claimed|according to [\w\s'-]{0,40})"
)


@dataclass
class DateCue:
    start: date
    end: date | None
    precision: int


def weekday_before(ref: date, name: str) -> date:
    """The most recent `name` day on or before `ref`."""
    return ref - timedelta(days=(ref.weekday() - WEEKDAYS.index(name.lower())) % 7)


def reference_day(sentences: list[Sentence], published: date) -> date:
    """The story's "today": a weekday of reporting in the first sentences, else publication day.

    Wire copy printed the next morning says "a monitor said on Friday"; events
    "overnight" or "on Thursday" are relative to that Friday, not to the print date.
    """
    for sentence in sentences[:6]:
        m = re.search(_REPORTING + r"\b[^.;]{0,30}?\b(?:on )?" + _WD + r"\b", sentence.text, re.IGNORECASE)
        if m:
            day = weekday_before(published, m.group(2))
            if (published - day).days <= 2:
                return day
    return published


def _explicit_date(text: str, ref: date) -> DateCue | None:
    patterns = [
        (_MONTH + r"\s+(\d{1,2})(?:\s*[-–]\s*(\d{1,2}))?(?:,?\s+(\d{4}))?\b", "mdy"),
        (r"\b(\d{1,2})(?:\s*[-–]\s*(\d{1,2}))?\s+" + _MONTH + r"(?:,?\s+(\d{4}))?\b", "dmy"),
    ]
    for pattern, kind in patterns:
        for m in re.finditer(pattern, text, re.IGNORECASE):
            month_word = m.group(1) if kind == "mdy" else m.group(3)
            if not month_word[:1].isupper():
                continue  # "may", "march": a verb, not a month (news copy capitalises months)
            if kind == "mdy":
                month, day1, day2, year = MONTHS[m.group(1).lower().rstrip(".")], m.group(2), m.group(3), m.group(4)
            else:
                day1, day2, month, year = m.group(1), m.group(2), MONTHS[m.group(3).lower().rstrip(".")], m.group(4)
            try:
                y = int(year) if year else ref.year
                start = date(y, month, int(day1))
                if not year and start > ref + timedelta(days=1):
                    # "December 30" in a story of 3 January: last December. A yearless day further back
                    # than that is a day to come ("an election scheduled for October 15"), not an event's.
                    start = date(y - 1, month, int(day1))
                    if (ref - start).days > OLD_BACKGROUND_DAYS:
                        continue
                end = date(start.year, month, int(day2)) if day2 else None
            except ValueError:
                continue
            if start <= ref + timedelta(days=1):
                return DateCue(start, end if end and end > start else None, 1)
    return None


def _masked_reporting(text: str) -> str:
    """Blank out weekdays that date the reporting, not the event ("said on Monday")."""
    return re.sub(
        _REPORTING + r"(\b[^.;]{0,30}?\b)(?:on )?" + _WD + r"\b(?!['’]s)",  # "Monday's victims" dates the event
        lambda m: m.group(0)[: m.start(len(m.groups())) - m.start()] + "_" * len(m.group(len(m.groups()))),
        text,
        flags=re.IGNORECASE,
    )


# A wire story's dateline ("KAMPALA, June 19 — ", "Idlib, 23 July 2019 – ") dates the report, not the event.
_DATELINE = re.compile(
    r"^\s*[A-Z][\w'’ .()/-]{1,40}?(?:,|\s[-–—])\s+(?:"
    + _WD
    + r",?\s+)?(?:"
    + _MONTH
    + r"\s+\d{1,2}|\d{1,2}\s+"
    + _MONTH
    + r")(?:,?\s+\d{4})?(?:\s*\([^)]{1,30}\))?\s*[-–—:]\s*",
    re.IGNORECASE,
)


def without_dateline(text: str) -> str:
    """The text less a leading dateline: the place and day the report was filed."""
    return _DATELINE.sub("", text, count=1)


def date_cue(text: str, ref: date) -> DateCue | None:
    """The event date that one piece of text states, resolved against `ref`, in the article's language."""
    if languages.current() != languages.ENGLISH:
        return _date_cue_other(text, ref, languages.current())
    text = without_dateline(text)
    explicit = _explicit_date(text, ref)
    if explicit:
        return explicit
    t = _masked_reporting(text).lower()
    m = re.search(r"between " + _WD + r" and " + _WD, t)
    if m:
        start, end = weekday_before(ref, m.group(1)), weekday_before(ref, m.group(2))
        return DateCue(start, end if end > start else None, 1)
    m = re.search(r"since (?:late |early )?" + _WD, t)
    if m:
        start = weekday_before(ref, m.group(1))
        return DateCue(start, ref if ref > start else None, 1)
    # A span of N days or N x 24 hours told on the reference day covers the N days before it.
    m = re.search(r"\b(24|48|72) hours\b", t)
    if m:
        days = int(m.group(1)) // 24
        return DateCue(ref - timedelta(days=days), ref - timedelta(days=1) if days > 1 else None, 1)
    m = re.search(r"\b(two|three|2|3)[ -]days? of\b|\b(two|three)-day\b", t)
    if m:
        days = {"two": 2, "2": 2, "three": 3, "3": 3}[m.group(1) or m.group(2)]
        return DateCue(ref - timedelta(days=days), ref - timedelta(days=1), 1)
    m = re.search(r"\b" + _WD + r"\b", t)
    if m:
        return DateCue(weekday_before(ref, m.group(1)), None, 1)
    if re.search(r"\b(yesterday|last night)\b", t):
        return DateCue(ref - timedelta(days=1), None, 1)
    if re.search(r"\b(overnight)\b", t):
        return DateCue(ref - timedelta(days=1), None, 1)
    if re.search(r"\b(today|this morning|this afternoon|tonight|earlier in the day)\b", t):
        return DateCue(ref, None, 1)
    if re.search(r"\blast week\b|\ba week ago\b", t):
        return DateCue(ref - timedelta(days=7), None, 2)
    if re.search(r"\b(recent days|this week|past few days|past week|days ago|last few days)\b", t):
        return DateCue(ref - timedelta(days=2), None, 2)
    m = re.search(r"\b(earlier|later|last) (this|last) month\b|\bearlier this month\b", t)
    if m:
        return DateCue(ref.replace(day=1), None, 3)
    return None


def _date_cue_other(text: str, ref: date, lang: str) -> DateCue | None:
    """Weekdays, "12 mars" / "12 de marzo", and yesterday/today/last week, from dateparser's locale words."""
    words = languages.date_words(lang)
    lower = text.lower()
    months: dict[str, int] = words["months"]  # type: ignore[assignment]
    if months:
        names = "|".join(sorted(map(re.escape, months), key=len, reverse=True))
        for m in re.finditer(r"\b(\d{1,2})(?:er|º|°)?\s+(?:de\s+)?(" + names + r")\b(?:\s+(?:de\s+)?(\d{4}))?", lower):
            try:
                start = date(int(m.group(3)) if m.group(3) else ref.year, months[m.group(2)], int(m.group(1)))
            except ValueError:
                continue
            if not m.group(3) and start > ref + timedelta(days=183):
                start = start.replace(year=start.year - 1)
            if start <= ref + timedelta(days=1):
                return DateCue(start, None, 1)
    weekdays: dict[str, int] = words["weekdays"]  # type: ignore[assignment]
    for name, index in sorted(weekdays.items(), key=lambda kv: -len(kv[0])):
        if re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", lower):
            return DateCue(weekday_before(ref, WEEKDAYS[index]), None, 1)
    relative: dict[str, int] = words["relative"]  # type: ignore[assignment]
    for phrase, ago in sorted(relative.items(), key=lambda kv: -len(kv[0])):
        if re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", lower):
            return DateCue(ref - timedelta(days=ago), None, 2 if ago >= 7 else 1)
    return None


_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "dozens": 12,
    "dozen": 12,
    "tens": 10,
    "scores": 20,
}
# "wounded five others", "injured four other people": the number counts the wounded.
_WOUNDED_BEFORE = re.compile(
    r"\b(?:wounded|wounding|wounds|injured|injuring|injures|hurt|hurting)\s+(?:at least |about |some |nearly |around |more than |over )?$",
    re.IGNORECASE,
)
_NOT_DEATHS = re.compile(
    r"^\s*(?:other people |people |others |other |more )?(?:(?:had |have |has |were |was )?(?:been )?(?=injured|wounded|hurt))?"
    r"(injured|wounded|hurt|displaced|kilomet|km|miles|years|year-old|houses|homes|"
    r"percent|%|per cent|schools|facilities|hospitals|apartments|missiles|rockets|drones|towns|villages)",
    re.IGNORECASE,
)


_AGE = re.compile(r"^[- ]?(?:years?[- ]old|yrs?\b|-year\b)", re.IGNORECASE)
_AGED_BEFORE = re.compile(r"\b(?:aged|age|ages)\s+(?:between\s+)?(?:\d+\s*(?:,|and|to|-)\s*)*$", re.IGNORECASE)
# "José Soncco, 29, died": a number set off by commas after a name is the person's age.
_NAME_BEFORE = re.compile(r"\b[A-Z][\w'’-]+,\s*$")
_COMMA_AFTER = re.compile(r"^\s*,")


def _is_age(text: str, start: int, end: int) -> bool:
    return bool(
        _AGE.match(text[end:])
        or _AGED_BEFORE.search(text[:start])
        or (_NAME_BEFORE.search(text[:start]) and _COMMA_AFTER.match(text[end:]))
    )


def numbers_in(text: str) -> set[int]:
    """Numbers stated in the text as deaths could be: digits and number words, not injured/distances.

    Number words of the article's language become digits first ("two hundred"
    is 200, "trois" is 3); "a", "an", "dozens" and "tens" are English words the
    number parser leaves to this table.
    """
    found: set[int] = set()
    text = languages.digits_for_words(text)
    for m in re.finditer(r"\b(\d{1,3}(?:,\d{3})*|\d+)\b", text):
        if _is_age(text, m.start(), m.end()):
            continue  # an age ("a 49-year-old man", "aged 44 and 46", "Ali Musa, 29,"), not a count
        if not _NOT_DEATHS.match(text[m.end() :]) and not _WOUNDED_BEFORE.search(text[: m.start()]):
            found.add(int(m.group(1).replace(",", "")))
    if languages.current() != languages.ENGLISH:
        return found
    for m in re.finditer(r"\b([A-Za-z]+)(?:-([A-Za-z]+))?\b", text):
        first = _NUMBER_WORDS.get(m.group(1).lower())
        if first is None or _NOT_DEATHS.match(text[m.end() :]) or _WOUNDED_BEFORE.search(text[: m.start()]):
            continue
        second = _NUMBER_WORDS.get((m.group(2) or "").lower(), 0)
        found.add(first + (second if second < 10 else 0))
    return found


# Words that say someone died: a sentence without them states no death toll.
DEATH_WORDS = re.compile(
    r"\b(kill|killed|killing|kills|dead|death|deaths|died|die|dying|lives|toll|executed|massacred|slain|murdered|"
    r"bodies|lynched|beheaded|shot dead)\b",
    re.IGNORECASE,
)


# A toll above this in one sentence is a tally ("25,671 civilians killed"), not one incident.
MAX_INCIDENT_TOLL = 1000


def states_deaths(text: str) -> bool:
    """Does the text speak of deaths, in the article's language? (True where the code has no death words.)"""
    lang = languages.current()
    if lang == languages.ENGLISH:
        return DEATH_WORDS.search(text) is not None
    pattern = languages.death_pattern(lang)
    return pattern is None or pattern.search(text) is not None


def _first_position(n: int, text: str) -> int:
    m = re.search(rf"(?<![\d,]){n:,}(?![\d,])|(?<![\d,]){n}(?![\d,])", text)
    return m.start() if m else len(text)


def ages_stated(text: str) -> list[int]:
    """The ages the text gives, one per person ("a 65-year-old woman", "two men, aged 44 and 46")."""
    text = languages.digits_for_words(text)
    ages = []
    for m in re.finditer(r"\b(\d{1,3})\b", text):
        if _is_age(text, m.start(), m.end()):
            ages.append(int(m.group(1)))
    return ages


def people_by_age(killed: list[int], text: str) -> int:
    """The dead counted when the model gave their ages as the toll: one person per age the text states.

    A small model copies "a 65-year-old woman was killed" as killed [65]; an age is a person, not a count
    (rule `ages_are_people`). 0 when any number is not a stated age, or the text speaks of no death.
    """
    if not killed or not states_deaths(text):
        return 0
    ages = ages_stated(text)
    return len(killed) if all(n in ages for n in killed) else 0


def fatalities_from(killed: list[int], text: str) -> int:
    """Sum per-side tolls the text really states; a stated total of the others is not added.

    Only a text that speaks of deaths gives a toll: "121 women were raped" is not 121 killed.
    A number is the total of the others only when it is stated before them
    ("killed 5 people, 3 soldiers and 2 police" is 5; "3 soldiers, 2 police and
    5 civilians" is 10).
    """
    if not states_deaths(text):
        return 0
    grounded = [n for n in killed if n in numbers_in(text) and 0 < n < 100_000]
    if not grounded:
        return 0
    unique = list(dict.fromkeys(grounded))
    digits = languages.digits_for_words(text)
    for n in sorted(unique, reverse=True):
        rest = [m for m in unique if m != n]
        if rest and n == sum(rest) and _first_position(n, digits) < min(_first_position(m, digits) for m in rest):
            return n
    if len(unique) > 1 and re.search(r"\bincluding\b|\bamong them\b", text, re.IGNORECASE):
        return max(unique)
    return sum(unique)


# ---------------------------------------------------------------------------
# 5. the strategy
# ---------------------------------------------------------------------------

# Running totals and background figures, by their wording (the codebook's first exclusion).
_TOTAL = re.compile(
    r"\bsince (?:the )?(?:late |early |mid-?|end of |start of |beginning of )?(?:19|20)\d\d\b"
    r"|\bsince (?:late |early |mid-?)?(?:january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"|\bsince the (?:start|beginning|outbreak)\b|\bso far this year\b|\bin that period\b"
    r"|\b(?:war|conflict|insurgency|violence)\b(?:,[^.;]{0,90},)? (?:has|have) (?:killed|left)\b"
    r"|\bin the (?:first|past|last) (?:\d+|two|three|four|five|six|ten) (?:days|weeks|months)\b"
    r"|\bcompared (?:to|with)\b|\bcasualties (?:from|since)\b"
    r"|\bkilled in the (?:violence|escalation|unrest|bloodshed|crackdown|conflict|war)\b"
    r"|\bsince the (?:\w+ ){0,2}?(?:went into effect|took effect|began|started|erupted|broke out|was signed)\b"
    # a tally over a stated period ("over the three months", "in the second quarter", "this year")
    r"|\b(?:over|during|in|within) the (?:past |last |previous )?(?:\d+ |two |three |four |five |six |ten |twelve )?"
    r"(?:weeks|months|years|quarter)\b"
    r"|\bin (?:the )?(?:first|second|third|fourth|last) quarter\b|\b(?:so far )?this year\b"
    # deaths in the present perfect counted from a starting point ("have died ... since students took to the streets")
    r"|\b(?:has|have) (?:been )?(?:killed|died|lost (?:their|his|her) lives|left [\w ]{0,20}dead)\b[^.;]{0,80}\bsince\b",
    re.IGNORECASE,
)


# A year this long before the story's reference day is background ("in 2014"), not a new incident.
OLD_BACKGROUND_DAYS = 60
_YEAR = re.compile(r"(?<![\d,.])(1[89]\d\d|20\d\d)(?![\d]|[,.]\d)")


def dated_long_before(text: str, ref: date) -> bool:
    """Does the text date what it tells only by years that ended long before `ref`?

    Digits, so it holds in every language: "in 2019 after the group bombed a
    police academy", "en 2014". A year that ended less than OLD_BACKGROUND_DAYS
    before the story ("on 28 December 2023" in a January 2024 story) is recent.
    """
    if languages.current() == languages.ENGLISH and _LONG_AGO.search(text) and not _YEAR.search(text):
        return True  # "a truck bomb five years ago", "two months earlier": told relative to the story
    years = [int(y) for y in _YEAR.findall(text)]
    cutoff = ref - timedelta(days=OLD_BACKGROUND_DAYS)
    return bool(years) and all(date(y, 12, 31) < cutoff for y in years)


# A time told relative to the story that lies long before it (at least two months).
_LONG_AGO = re.compile(
    r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|several|many) (?:years|months) (?:ago|earlier|before)\b"
    r"|\b(?:a little |just |a bit )?(?:over|more than) a month (?:ago|earlier|before)\b|\b(?:a|one) year (?:ago|earlier)\b",
    re.IGNORECASE,
)


def looks_like_total(sentence: Sentence) -> bool:
    """A running total or a tally over a period, by its wording in the article's language (where the code has
    words for it; elsewhere the model judges)."""
    lang = languages.current()
    if lang != languages.ENGLISH:
        pattern = languages.total_pattern(lang)
        return pattern is not None and pattern.search(sentence.text) is not None
    return bool(_TOTAL.search(sentence.text))


_SOURCE = re.compile(
    r"\b(?:according to|said|reported|told)\b[^.]{0,12}?\b(?:the )?((?:[A-Z][\w'’-]+|for|of|on|the)(?: (?:[A-Z][\w'’-]+|for|of|on|the)){0,7})"
    r"|(?:the )?((?:[A-Z][\w'’-]+)(?: (?:[A-Z][\w'’-]+|for|of|on)){0,7})(?: \([A-Z]+\))?,? (?:said|reported|says)\b"
)


def source_of(text: str) -> str:
    for m in _SOURCE.finditer(text):
        name = (m.group(1) or m.group(2) or "").strip()
        name = re.sub(r"\s+(for|of|on|the)$", "", name)
        if len(name) > 3 and name.split()[0] not in ("He", "She", "They", "It", "We", "The", "A", "In", "On"):
            return name[:120]
    return ""


def locate(quote: str, sentences: list[Sentence]) -> Sentence | None:
    """The sentence a copied quote comes from: exact after normalisation, else the closest (>= 85/100)."""
    from rapidfuzz import fuzz

    from schemas.grounding import normalise_for_match

    q = normalise_for_match(quote).lower().strip(" .\"'")
    if len(q) < 8:
        return None
    for sentence in sentences:
        if q in normalise_for_match(sentence.text).lower():
            return sentence
    scored = [(fuzz.partial_ratio(q, normalise_for_match(s.text).lower()), s) for s in sentences]
    score, best = max(scored, key=lambda pair: pair[0], default=(0, None))
    return best if score >= 85 else None


# A sentence that states people were killed, raped, abducted or lynched reports
# an incident unless it is a running total; the model's list often stops after
# the main incident, so code sweeps the ones it left out.
HARM_WORDS = re.compile(
    r"\b(killed|killing|dead|died|lost their lives|executed|massacred|raped|violated|abducted|kidnapped|lynched)\b",
    re.IGNORECASE,
)


def states_harm(text: str) -> bool:
    """Does the sentence state that people were killed, raped, abducted or lynched, in the article's language?"""
    lang = languages.current()
    if lang == languages.ENGLISH:
        return HARM_WORDS.search(text) is not None
    deaths, harms = languages.death_pattern(lang), languages.harm_pattern(lang)
    if deaths is None:
        return True
    return deaths.search(text) is not None or (harms is not None and harms.search(text) is not None)
