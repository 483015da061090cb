"""Finding and redacting personal data in free text: emails, phone numbers, personal names.

Phone numbers are found by `phonenumbers` (Google's libphonenumber, maintained, every country's numbering plan):
numbers written internationally (+44 ...) anywhere, and national forms of the regions below. Emails by a pattern
that admits what people write: plus-addressing, dots, Unicode local parts and domains. Names by a gazetteer: the
first and last names of Faker's 86 locales (maintained, and on PyPI; spaCy and Presidio need a language model
that is not, and names-dataset needs 3 GB of memory): a known first name and the capitalised words and particles
after it, Chinese and Japanese names written without spaces, and a capitalised word where text introduces a
person ("my name is", "Dear", "Mr."), whatever the name. A first name that is also an everyday word ("Will",
"May", "Can") counts only before a known surname. A name no list holds, in a sentence that does not introduce
it, is not found: reports/bench/pii.md measures both.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import phonenumbers

EMAIL, PHONE, NAME = "[EMAIL_REDACTED]", "[PHONE_REDACTED]", "[NAME_REDACTED]"
REGIONS = ("US", "GB", "DE", "FR", "IN", "AU", "BR", "MX", "ES", "IT", "JP", "CN")

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[\w-]{2,}")
# what a second look also refuses in redacted text: anything shaped like an address, and a "+" followed by
# seven digits or more (an international number however it is spaced)
_LEAK_EMAIL = re.compile(r"\S@\S+\.\S")
_LEAK_INTERNATIONAL = re.compile(r"\+\s?(?:\d[\s().-]{0,2}){7,}")
# a word: letters with their combining marks (Devanagari's vowel signs are not \w), apostrophes and hyphens
_WORD = r"[^\s\d.,;:!?()\[\]{}<>\"“”„«»/\\|@#$%^&*+=~`_]+"
# first names that are also everyday English words (and months): a name only when a surname follows or
# the text introduces a person
AMBIGUOUS = frozenset({
    "amber", "angel", "april", "art", "august", "autumn", "baby", "bill", "black", "brown", "can", "cash", "chance",
    "christian", "daisy", "dawn", "destiny", "duke", "earl", "eve", "faith", "frank", "grace", "gray", "green",
    "grey", "guy", "harmony", "holly", "honey", "hope", "hunter", "iris", "ivy", "jack", "jade", "joy", "june",
    "justice", "king", "lane", "lily", "long", "love", "major", "mark", "may", "melody", "mercy", "miracle",
    "ocean", "page", "pat", "pearl", "precious", "price", "rain", "ray", "rich", "river", "rose", "ruby", "sky",
    "spring", "star", "storm", "sue", "summer", "sunny", "trinity", "violet", "white", "will", "winter", "young"
})
STOP = frozenset({"i", "a", "the", "and", "or", "at", "on", "in", "to", "for", "of", "is", "was",
                  # whom a greeting addresses when it is not a person
                  "support", "team", "there", "all", "everyone", "everybody", "sir", "madam", "folks", "again"})
PARTICLES = frozenset({"de", "da", "do", "dos", "das", "del", "della", "di", "du", "la", "le", "van", "von", "der",
                       "den", "ter", "bin", "ibn", "al", "el", "y", "e", "mac", "st"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_CUE = re.compile(r"(?i:\b(?:my name is|name's|i am|i'm|this is|call me|signed|regards|thanks|thank you|cheers|"
                  r"dear|hi|hello|hey|contact|ask for|spoke (?:to|with)))[,:]?\s+"
                  r"|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sr|Sra|Herr|Frau|Mme|Mlle|M)\.?\s+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


@cache
def _gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    """First names and surnames of every Faker locale, lower-cased."""
    from faker.providers import person
    first: set[str] = set()
    last: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        for attr, into in (("first_names", first), ("first_names_male", first), ("first_names_female", first),
                           ("last_names", last)):
            names = provider.__dict__.get(attr)
            if isinstance(names, dict | list | tuple):
                into.update(part.lower() for n in names if isinstance(n, str)  # "Luiz Felipe": both
                            for part in n.split() if len(part) > 1 or _CJK.match(part))
    return frozenset(first), frozenset(last)


def _is_capitalised(word: str) -> bool:
    """Upper case first, or a script without case (Devanagari, Arabic, Thai...)."""
    return word[:1].isupper() or (word[:1].isalpha() and not word[:1].islower())


def _cjk_names(word: str, first: frozenset[str], last: frozenset[str]) -> Iterator[tuple[int, int]]:
    """Chinese and Japanese names are written without spaces, inside a sentence: a known surname, then a known
    given name, anywhere in the run of characters (over-redacts ordinary text, which is the safe side)."""
    i = 0
    while i < len(word):
        found = next(((i, i + n + m) for n in (2, 1) if word[i:i + n] in last
                      for m in (3, 2, 1) if i + n + m <= len(word) and word[i + n:i + n + m] in first), None)
        if found:
            yield found
            i = found[1]
        else:
            i += 1


def _known(word: str, names: frozenset[str]) -> bool:
    """In the list, or a hyphenated compound of which a part is (Pierre-Victor, Anne-Sophie)."""
    return word in names or ("-" in word and any(part in names for part in word.split("-") if len(part) > 1))


def _names(text: str) -> Iterator[Span]:
    first, last = _gazetteer()
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(_WORD, text)]
    cued = {m.end() for m in _CUE.finditer(text)}

    def surname_at(j: int) -> bool:  # a capitalised word, or a particle before one, right after word j - 1
        if j >= len(words) or words[j][0] - words[j - 1][1] > 2:
            return False
        word = words[j][2]
        if word.lower() in PARTICLES:
            return surname_at(j + 1)
        return _is_capitalised(word) and word.lower() not in STOP and not _CJK.match(word)

    def known_surname_at(j: int) -> bool:  # "Will Smith", not "Can Canada Post"
        return surname_at(j) and _known(words[j][2].lower(), last)

    i = 0
    while i < len(words):
        start, end, word = words[i]
        lower = word.lower()
        if _CJK.match(word):
            if lower in first or lower in last:
                yield Span(start, end, NAME)
            else:
                yield from (Span(start + a, start + b, NAME) for a, b in _cjk_names(word, first, last))
        elif _is_capitalised(word) and lower not in STOP and (
                start in cued or (_known(lower, first) and (lower not in AMBIGUOUS or known_surname_at(i + 1)))
                or (lower in last and i > 0 and words[i - 1][1] in cued)):
            yield Span(start, end, NAME)
            while surname_at(i + 1):
                i += 1
                yield Span(words[i][0], words[i][1], NAME)
        i += 1


def _phones(text: str) -> Iterator[Span]:
    for region in REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            if sum(c.isdigit() for c in match.raw_string) >= 7:  # shorter "valid" numbers are order ids and prices
                yield Span(match.start, match.end, PHONE)


def find(text: str) -> list[Span]:
    """Every span of personal data in ``text``, overlapping spans merged (the wider kind wins)."""
    spans = [Span(m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(text)]
    spans += _phones(text)
    spans += _names(text)
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, span.end, merged[-1].kind)
            continue
        merged.append(span)
    return merged


def redact(text: str) -> str:
    out, at = [], 0
    for span in find(text):
        out += [text[at:span.start], span.kind]
        at = span.end
    return "".join(out) + text[at:]


def leaks(text: str) -> list[str]:
    """What a second look still finds in redacted text: any email or phone shape, any name the detector finds."""
    found = [m.group() for m in (*_LEAK_EMAIL.finditer(text), *_LEAK_INTERNATIONAL.finditer(text))]
    return found + [text[s.start:s.end] for s in find(text)]
