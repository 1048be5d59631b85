"""IANA time zones: which names are real, the picker's list, and UTC as the fallback.

Only the standard library (``zoneinfo``; the ``tzdata`` package supplies zones where the OS has
none), so the rules run the same in the web app, the CLI and the tests.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import tzinfo
from difflib import get_close_matches
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# Zone names worth offering in a picker: the IANA "Area/Location" names. Everything else in the
# database is a backward-compatibility alias ("US/Eastern", "GB", "EST5EDT", "Etc/GMT+5" with
# its inverted sign) or not a place at all ("Factory", "posixrules", "localtime").
_ZONE_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)


# Zone keys are short ASCII paths; anything longer or odder is not worth a file-system lookup.
_ZONE_NAME_RE = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)


_MAX_ZONE_NAME = 64

# Files of the zone database that are not places: the host's own zone ("localtime" follows
# whatever the server is set to, so times saved in it would move with the machine), and two
# placeholders. `available_timezones` already leaves out the "posix/" and "right/" copies of
# the tree (the latter counts leap seconds, so its clocks are off by half a minute).
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@lru_cache(maxsize=1)
def _zone_keys() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def is_valid_zone(name: str) -> bool:
    """True when ``name`` is an IANA zone key this machine can load (aliases included)."""
    if not name or len(name) > _MAX_ZONE_NAME or not _ZONE_NAME_RE.fullmatch(name):
        return False
    if name not in _zone_keys():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: keys zoneinfo rejects outright; OSError: a directory such as "America".
        return False
    return True


# Browsers name zones as CLDR does, and CLDR keeps names IANA has since renamed: Chrome says
# "Asia/Calcutta" for India. Stored as they are today, so profiles, mails and the picker's
# list of common zones agree. The old names stay valid (the database keeps them as links).
_RENAMED = {
    "Africa/Asmera": "Africa/Asmara",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Catamarca": "America/Argentina/Catamarca",
    "America/Cordoba": "America/Argentina/Cordoba",
    "America/Godthab": "America/Nuuk",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Jujuy": "America/Argentina/Jujuy",
    "America/Louisville": "America/Kentucky/Louisville",
    "America/Mendoza": "America/Argentina/Mendoza",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Istanbul": "Europe/Istanbul",  # links, not renames: one city, one name
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Nicosia": "Asia/Nicosia",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Truk": "Pacific/Chuuk",
}


def current_zone_name(name: str) -> str:
    """Today's IANA name of a zone a browser reported by an older one; others as they are."""
    renamed = _RENAMED.get(name)
    return renamed if renamed and is_valid_zone(renamed) else name


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The zone called ``name``, or UTC when it is missing or unknown (DESIGN: UTC fallback)."""
    if name and is_valid_zone(name):
        return ZoneInfo(name)
    return ZoneInfo("UTC")


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    names = {n for n in available_timezones() if n.split("/", 1)[0] in _ZONE_AREAS and "/" in n}
    names.add("UTC")
    return tuple(sorted(names))


# Offered first in the picker: the zones most people live in, one per region and offset.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Manila",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/Mexico_City",
    "America/New_York",
    "America/Bogota",
    "America/Lima",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
)


def picker_zone_names() -> list[str]:
    """The picker's order: the common zones, then every other canonical zone by name."""
    common = [name for name in COMMON_ZONES if is_valid_zone(name)]
    rest = sorted(set(_zone_names()) - set(common))
    return common + rest


# What IANA zone names leave out of a city's name: full stops and apostrophes.
_LEFT_OUT = re.compile(r"[.'’]")


def _place_key(text: str) -> str:
    """How a typed zone or city is compared: case, spacing, accents, width and the marks
    zone names leave out aside, so "new york", "New_York" and "new-york" are one, as are
    "São Paulo" and "Sao_Paulo", and "St. John's" and "St_Johns"."""
    plain = "".join(
        char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char)
    )
    plain = _LEFT_OUT.sub("", plain.replace("_", " ").replace("-", " "))
    return "_".join(plain.split()).casefold()


@lru_cache(maxsize=1)
def _zones_by_place() -> dict[str, tuple[str, ...]]:
    """Each zone's full name and its place (the part after the last "/"), compared as
    `_place_key` does, with the zones (today's names) that answer to it."""
    found: dict[str, set[str]] = {}
    for name in _zone_names():
        zone = current_zone_name(name)
        for key in {_place_key(name), _place_key(name.rsplit("/", 1)[-1])}:
            found.setdefault(key, set()).add(zone)
    return {key: tuple(sorted(zones)) for key, zones in found.items()}


# Abbreviations people type for where they live, with the zones they most often mean, for a
# message that asks for the city. Most are no zone's name. "EST", "MST" and "GMT" are, but as
# fixed offsets: New York, Denver and London change their clocks for summer, so a profile in
# "EST" would show every summer time an hour off. "HST" is Hawaii's own, and "CET", "EET",
# "WET" and "EST5EDT" follow their region's summer time: those stay valid.
_ABBREVIATIONS = {
    "EST": ("America/New_York",),
    "EDT": ("America/New_York",),
    "ET": ("America/New_York",),
    "CST": ("America/Chicago", "Asia/Shanghai"),
    "CDT": ("America/Chicago",),
    "CT": ("America/Chicago",),
    "MST": ("America/Denver", "America/Phoenix"),
    "MDT": ("America/Denver",),
    "MT": ("America/Denver",),
    "PST": ("America/Los_Angeles",),
    "PDT": ("America/Los_Angeles",),
    "PT": ("America/Los_Angeles",),
    "AKST": ("America/Anchorage",),
    "AKDT": ("America/Anchorage",),
    "GMT": ("Europe/London", "UTC"),
    "BST": ("Europe/London",),
    "CEST": ("Europe/Paris", "Europe/Berlin"),
    "EEST": ("Europe/Athens",),
    "WEST": ("Europe/Lisbon",),
    "MSK": ("Europe/Moscow",),
    "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "JST": ("Asia/Tokyo",),
    "KST": ("Asia/Seoul",),
    "HKT": ("Asia/Hong_Kong",),
    "SGT": ("Asia/Singapore",),
    "AEST": ("Australia/Sydney", "Australia/Brisbane"),
    "AEDT": ("Australia/Sydney",),
    "ACST": ("Australia/Adelaide", "Australia/Darwin"),
    "AWST": ("Australia/Perth",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
    "SAST": ("Africa/Johannesburg",),
    "WAT": ("Africa/Lagos",),
    "EAT": ("Africa/Nairobi",),
    "BRT": ("America/Sao_Paulo",),
}
# Zone names that are such fixed offsets (GMT's spellings included): not taken from a zone box.
_FIXED_ABBREVIATIONS = frozenset({"EST", "MST", "GMT", "GMT0", "GMT+0", "GMT-0", "GREENWICH"})


def abbreviation_zones(typed: str) -> tuple[str, ...]:
    """The zones an abbreviation such as "PST" or "EST" usually stands for; () for others."""
    key = typed.strip().upper()
    if key in _FIXED_ABBREVIATIONS:
        key = "GMT" if key.startswith("G") else key
    return _ABBREVIATIONS.get(key, ())


def city_of(zone: str) -> str:
    """A zone's place as people write it: "New York" for America/New_York."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def find_zone(typed: str) -> str | None:
    """The zone a person means by what they typed in a zone box: a zone's name as is (today's
    name for a renamed one), or, whatever the case, spacing and accents, a zone's full name
    or its city ("london", "New York", "sao paulo") when that names one zone. None when it
    names none or several (`zones_named`, `zones_like` have the candidates), and for "EST",
    "MST" and "GMT" (`abbreviation_zones`)."""
    typed = typed.strip()
    if typed.upper() in _FIXED_ABBREVIATIONS:
        return None
    zones = zones_named(typed)
    if is_valid_zone(typed):
        zone = current_zone_name(typed)
        if zone in _zone_names() or len(zones) != 1:
            return zone
        return zones[0]  # an old name of a city's zone ("Singapore"): the zone's own
    if len(zones) > 1:
        # A city under two areas in a future database: the one in the common list, if any.
        zones = tuple(zone for zone in zones if zone in COMMON_ZONES)
    return zones[0] if len(zones) == 1 else None


def zones_named(typed: str) -> tuple[str, ...]:
    """Every zone whose full name or city is what was typed, case and spacing aside."""
    return _zones_by_place().get(_place_key(typed), ())


def zones_like(typed: str, limit: int = 3) -> list[str]:
    """Zones whose name or city is spelt close to what was typed ("Londn"), best first, for
    an error message."""
    index = _zones_by_place()
    found: list[str] = []
    for near in get_close_matches(_place_key(typed), index, n=limit, cutoff=0.8):
        found += [zone for zone in index[near] if zone not in found]
    return found[:limit]


def all_zone_names() -> list[str]:
    """Sorted canonical zone names for a picker ("Area/Location" plus "UTC").

    Aliases such as "US/Eastern" are left out of the list but still pass ``is_valid_zone``,
    because browsers report some of them; a form should keep a saved alias selectable.
    Scanning the zone database is slow, so the list is computed once per process.
    """
    return list(_zone_names())


def zone_label(zone: tzinfo) -> str:
    # ZoneInfo has .key; a fixed-offset timezone (UTC) only has its str().
    return getattr(zone, "key", None) or str(zone)
