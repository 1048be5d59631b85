"""The profile's forms: name, bio, skills taught and wanted, links, time zone; and the booking
rules of the sessions one teaches."""

from __future__ import annotations

import re

from wtforms.validators import (
    Length,
    ValidationError,
)

from skillswap.domain.limits import MAX_LINKS, MAX_TAG_LENGTH, MAX_TAGS
from skillswap.domain.teacher_rules import BOUNDS, TeacherRules
from skillswap.domain.users import (
    MAX_BIO,
    link_problem,
    split_tags,
)
from skillswap.domain.zones import (
    abbreviation_zones,
    city_of,
    find_zone,
    is_valid_zone,
    zones_like,
    zones_named,
)
from skillswap.web.fields import StringField, TextAreaField
from skillswap.web.forms import (
    LINE,
    LINES,
    BaseForm,
    normalised,
    skill_problem,
    strip_text,
)


def check_tags(field: TextAreaField) -> None:
    tags = split_tags(field.data or "")
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"List at most {MAX_TAGS} skills (you listed {len(tags)})")
    long = [t for t in tags if len(t) > MAX_TAG_LENGTH]
    if long:
        raise ValidationError(f"Keep each skill to {MAX_TAG_LENGTH} characters: {long[0][:50]}…")
    for tag in tags:
        # The offer form's rules: a tag is a skill people search for and book.
        if problem := skill_problem(tag):
            raise ValidationError(f"{tag[:50]}: {problem}")


class ProfileForm(BaseForm):
    saved_zone = ""  # the profile's zone as stored (the route sets it), kept if sent back
    display_name = StringField(
        "Display name",
        filters=[normalised],
        validators=[LINE, Length(max=60, message="Keep your name to 60 characters")],
        description="How others see you; your username is used when this is empty",
    )
    bio = TextAreaField(
        "Short bio",
        filters=[normalised],
        validators=[LINES, Length(max=MAX_BIO, message=f"Keep your bio to {MAX_BIO} characters")],
    )
    teach = TextAreaField(
        "Skills I can teach",
        filters=[normalised],
        validators=[LINES],
        description=f"Separate skills with commas or new lines (up to {MAX_TAGS})",
        render_kw={"rows": 2, "data-tags": ""},
    )
    learn = TextAreaField(
        "Skills I want to learn",
        filters=[normalised],
        validators=[LINES],
        description=f"Separate skills with commas or new lines (up to {MAX_TAGS})",
        render_kw={"rows": 2, "data-tags": ""},
    )
    links = TextAreaField(
        "Links",
        filters=[normalised],
        validators=[LINES],
        description=f"Social or GitHub profiles, one per line, starting with https:// "
        f"(up to {MAX_LINKS})",
        render_kw={"rows": 3},
    )
    # A text box with the zone list as its <datalist> (profile/edit.html): the browser offers
    # and filters the ~440 names as the person types, and the page sends the list as one
    # string made once per process instead of ~440 rendered <option>s on every view.
    timezone = StringField(
        "Time zone",
        filters=[strip_text],
        render_kw={"list": "zone-names", "autocomplete": "off", "spellcheck": "false"},
        description="Times you enter and see are in this zone. Type a city, like “London”",
    )

    def validate_timezone(self, field: StringField) -> None:
        typed = field.data or ""
        if not typed:
            raise ValidationError("Choose a time zone: type a city, like London")
        if find_zone(typed) is not None:
            return  # the route stores find_zone's answer: "london" is Europe/London
        if typed == self.saved_zone and is_valid_zone(typed):
            return  # "EST" saved before abbreviations were refused: no bar to a bio edit
        meant = abbreviation_zones(typed)
        if meant:  # "PST", or "EST", which is UTC-5 all year and no city's clock
            cities = " or ".join(city_of(zone) for zone in meant)
            raise ValidationError(
                f"“{typed}” is an abbreviation: type your city instead, like {cities}, "
                "so that summer time is right"
            )
        named = zones_named(typed)
        if named:  # a city in several zones
            raise ValidationError(f"{typed} is in {len(named)} zones: choose {' or '.join(named)}")
        near = zones_like(typed)
        if near:
            raise ValidationError(f"No time zone is called “{typed}”. Did you mean {near[0]}?")
        raise ValidationError(f"No time zone is called “{typed}”: type a city, like London")

    def validate_teach(self, field: TextAreaField) -> None:
        check_tags(field)

    def validate_learn(self, field: TextAreaField) -> None:
        check_tags(field)

    def validate_links(self, field: TextAreaField) -> None:
        links = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if len(links) > MAX_LINKS:
            raise ValidationError(f"Add at most {MAX_LINKS} links")
        for link in links:
            problem = link_problem(link)
            if problem:
                raise ValidationError(f"{link[:80]}: {problem}")


def _whole_number(field: StringField, name: str, empty_means: int | None = None) -> None:
    """A whole number within the rule's bounds (domain/teacher_rules.py), else the rule's
    message; what was typed stays in the field."""
    text = (field.data or "").strip()
    low, high, message = BOUNDS[name]
    if not text and empty_means is not None:
        return
    if not re.fullmatch(r"[0-9]{1,6}", text) or not low <= int(text) <= high:
        raise ValidationError(message)


class BookingRulesForm(BaseForm):
    notice_hours = StringField(
        "Minimum notice (hours)",
        description="Nobody can book a session that starts sooner than this. 0: any time ahead",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    buffer_minutes = StringField(
        "Buffer between sessions (minutes)",
        description="Kept free before and after every booked session",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    daily_cap = StringField(
        "Sessions a day at most",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    cancel_hours = StringField(
        "Cancel deadline (hours before the start)",
        description="A later cancel or move is allowed but marked late on both dashboards and "
        "counted on the profile of whoever made it. 0: never late",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )

    def validate_notice_hours(self, field: StringField) -> None:
        _whole_number(field, "notice_hours")

    def validate_buffer_minutes(self, field: StringField) -> None:
        _whole_number(field, "buffer_minutes")

    def validate_daily_cap(self, field: StringField) -> None:
        _whole_number(field, "daily_cap", empty_means=0)

    def validate_cancel_hours(self, field: StringField) -> None:
        _whole_number(field, "cancel_hours")

    def fill(self, rules: TeacherRules) -> None:
        self.notice_hours.data = str(rules.notice_hours)
        self.buffer_minutes.data = str(rules.buffer_minutes)
        self.daily_cap.data = str(rules.daily_cap) if rules.daily_cap else ""
        self.cancel_hours.data = str(rules.cancel_hours)

    def rules(self, zone: str) -> TeacherRules:
        """The rules as typed (call once the form has validated)."""

        def number(field: StringField) -> int:
            return int((field.data or "").strip() or 0)

        return TeacherRules(
            notice_hours=number(self.notice_hours),
            buffer_minutes=number(self.buffer_minutes),
            daily_cap=number(self.daily_cap),
            cancel_hours=number(self.cancel_hours),
            zone=zone,
        )
