"""Recall of the training export's redaction on a generated corpus of personal data in many forms, and how often
it redacts text that holds none (`python -m healstack.bench pii`, reports/bench/pii.md).

Emails: plus-addressed, dotted, Unicode local parts and domains, in brackets and at the end of sentences. Phones:
libphonenumber's example numbers of every region it knows, written internationally (+, spaced and E.164),
and nationally for the regions healstack reads national forms of. Names: Faker's names of a dozen locales in
sentences that introduce them and in sentences that do not, and made-up names no list holds. A planted item
counts as found only when none of its characters' words survive."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from faker import Faker

from healstack.bench import write_report
from healstack.config import Settings
from healstack.export import pii

SEED = 20261201
NAME_LOCALES = ("en_US", "en_GB", "en_CA", "fr_FR", "fr_CA", "de_DE", "es_ES", "es_MX", "it_IT", "pt_BR", "hi_IN",
                "pl_PL", "nl_NL", "sv_SE", "tr_TR", "ja_JP", "zh_CN")
CUED = ("Hi, my name is {}.", "Thanks, {}", "I spoke with {} yesterday about the refund.", "Dear {},",
        "Please ask for {} at the front desk.", "Regards, {}")
UNCUED = ("{} wants a refund for the blue jacket.", "The package for {} never arrived.",
          "Can {} change the delivery address?")
EMAIL_FORMS = ("Reach me at {}.", "(email: {})", "<{}>", "{} is my address", "mail {}, thanks")
SAFE = ("Order {n} shipped on 2026-11-{d:02d} and costs ${a}.{c:02d}.", "I bought {q} items on Nov {d}; the total "
        "was {a}.{c:02d} CAD.", "The tracking page says {q} of {q} parcels arrived at 10:{d:02d}.",
        "Can I return the blue jacket, size {q}, from order #{n}?", "The coupon SAVE{q}0 did not work on "
        "Black Friday.", "Will the store open at 9 on Monday, May {d}?", "Hope the new model ships in June.",
        "Hi team, the app crashed on iOS 17.{q} when I tapped Checkout.", "Thanks for your help, order {n} is fine.",
        "Hello Support, the Visa ending {n} was declined twice.", "Can Canada Post deliver to Nunavut by Dec {d}?")


@dataclass
class Tally:
    planted: int = 0
    found: int = 0

    def line(self, what: str) -> str:
        return f"| {what} | {self.planted} | {self.found} | {self.found / max(self.planted, 1):.1%} |"


def _gone(item: str, template: str, redacted: str) -> bool:
    """No word of ``item`` (beyond the template's own words) is left in ``redacted``."""
    own = set(re.findall(r"\w+", template.lower()))
    left = set(re.findall(r"\w+", redacted.lower()))
    return not any(w in left for w in re.findall(r"\w+", item.lower())
                   if w not in own and (len(w) > 1 or not w.isascii()))


def _emails(rng: random.Random, fake: Faker, n: int) -> list[str]:
    tags = ("", "+promo", "+orders.2026", "")
    domains = ("example.com", "mail.co.uk", "bücher.de", "例え.jp", "shop.example.ca", "sub.mail.io")
    locals_ = (lambda: f"{fake.first_name()}.{fake.last_name()}".lower(), lambda: fake.user_name(),
               lambda: "josé.ñúñez", lambda: "用户", lambda: f"{fake.first_name().lower()}_{rng.randint(1, 99)}")
    return [f"{rng.choice(locals_)()}{rng.choice(tags)}@{rng.choice(domains)}".replace(" ", "") for _ in range(n)]


def _phones(national: bool) -> list[str]:
    out = []
    regions = pii.REGIONS if national else sorted(phonenumbers.SUPPORTED_REGIONS)
    for region in regions:
        number = phonenumbers.example_number(region)
        if number is None:
            continue
        if national:
            out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
        else:
            out += [phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)]
    return out


def measure(items: int = 400) -> dict[str, Tally | int]:
    rng = random.Random(SEED)
    Faker.seed(SEED)
    fakes = {loc: Faker(loc) for loc in NAME_LOCALES}
    tallies: dict[str, Tally | int] = {}

    def plant(kind: str, texts: list[tuple[str, str]]) -> None:
        tally = Tally()
        for item, template in texts:
            tally.planted += 1
            tally.found += _gone(item, template, pii.redact(template.format(item)))
        tallies[kind] = tally

    plant("emails", [(e, rng.choice(EMAIL_FORMS)) for e in _emails(rng, fakes["en_US"], items)])
    plant("phones, international (every region)", [(p, "Call me on {} after six.") for p in _phones(False)])
    plant("phones, national forms of the regions read", [(p, "My number is {}.") for p in _phones(True)])

    def names(templates: tuple[str, ...], make: Callable[[], str]) -> list[tuple[str, str]]:
        return [(n, rng.choice(templates)) for n in (make() for _ in range(items))]

    def person() -> str:  # a first and a last name (Faker's name() adds titles, which are not personal data)
        fake = fakes[rng.choice(NAME_LOCALES)]
        return f"{fake.first_name()} {fake.last_name()}"

    plant("names, introduced (Faker, 17 locales)", names(CUED, person))
    plant("names, not introduced (Faker, 17 locales)", names(UNCUED, person))
    def made_up() -> str:  # names no list holds
        return rng.choice(("Zorblat", "Quenvia", "Travik", "Ulmera")) + " " + rng.choice(("Draxley", "Venmoor"))

    plant("made-up names, introduced", names(CUED, made_up))
    plant("made-up names, not introduced", names(UNCUED, made_up))
    safe = [rng.choice(SAFE).format(n=rng.randint(1000, 99999), d=rng.randint(1, 28), a=rng.randint(1, 999),
                                    c=rng.randint(0, 99), q=rng.randint(1, 9)) for _ in range(5 * items)]
    tallies["safe sentences"] = len(safe)
    tallies["safe sentences changed"] = sum(pii.redact(s) != s for s in safe)
    return tallies


def run(settings: Settings) -> Path:
    tallies = measure()
    lines = ["Generated with a fixed seed; an item counts as found only when none of its words survive.", "",
             "| planted | items | redacted | recall |", "|---|---|---|---|"]
    lines += [t.line(kind) for kind, t in tallies.items() if isinstance(t, Tally)]
    lines += ["", f"False alarms: {tallies['safe sentences changed']} of {tallies['safe sentences']} sentences without "
              "personal data were changed (order numbers, dates, amounts, card endings, product and place names, "
              "greetings, and words that are also first names: Can, Will, May, Hope, June)."]
    return write_report(settings.reports_dir, "pii", "Redaction recall (training export)", lines)


def main() -> None:
    print(run(Settings.for_cli()).read_text())
