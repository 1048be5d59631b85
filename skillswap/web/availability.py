"""The dates × time-ranges part shared by the offer and learning-request forms.

Values are kept as typed (text fields with type=date/time), so a malformed entry comes back
to the person exactly as they wrote it, next to its message. Presets are expanded here, on the
server, so the form works without JavaScript; the "Add a date" / "Add a time range" buttons
re-render the form with one more row for browsers without JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from wtforms import Field, FieldList, Form, FormField, RadioField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import AnyOf

from skillswap.domain.availability import MAX_DATES, MAX_RANGES, check_availability, preset_dates
from skillswap.domain.times import TimeInputError, parse_date, parse_hhmm, to_zone
from skillswap.web.fields import StringField

PRESETS = [
    ("", "Only the dates I list"),
    ("weekdays", "Weekdays (Mon–Fri)"),
    ("weekends", "Weekends (Sat–Sun)"),
    ("everyday", "Every day"),
]


class RowList(FieldList):
    """A FieldList that reads at most `max_entries` rows and says when it was sent more.

    A post just under the body limit holds thousands of rows; each read, checked and shown
    back made a page ten times the post. WTForms reads the first `max_entries` and drops the
    rest without a word, so the form must refuse such a post: `overflowed` tells it to."""

    overflowed = False

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if formdata and self.max_entries:
            prefix = f"{self.name}-"
            rows = {
                key[len(prefix) :].partition("-")[0] for key in formdata if key.startswith(prefix)
            }
            self.overflowed = sum(1 for row in rows if row.isdigit()) > self.max_entries

    def full(self) -> bool:
        return bool(self.max_entries) and len(self.entries) >= self.max_entries


# Rows a form reads (max_entries): twice what it may use, so rows left empty or repeated
# never reach the bound, and a form past it is refused with the rows it read kept.
DATE_ROWS = 2 * MAX_DATES
RANGE_ROWS = 2 * MAX_RANGES
TOO_MANY_DATES = f"Pick at most {MAX_DATES} dates (a form takes at most {DATE_ROWS} rows)"
TOO_MANY_RANGES = f"Use at most {MAX_RANGES} time ranges (a form takes at most {RANGE_ROWS} rows)"


class TimeRangeForm(Form):
    start = StringField("From", render_kw={"type": "time"})
    end = StringField("To", render_kw={"type": "time"})


class AvailabilityFields:
    """Mixed into a FlaskForm: the fields every availability form has."""

    preset = RadioField(
        "Repeat on",
        choices=[SelectChoice(value, label) for value, label in PRESETS],
        default="",
        validate_choice=False,
        validators=[AnyOf([p for p, _ in PRESETS], message="Choose one of the repeat options")],
    )
    preset_first = StringField("First date", render_kw={"type": "date"})
    preset_last = StringField("Last date", render_kw={"type": "date"})
    # Labelled as the page heads them: the error summary names the lists so.
    dates = RowList(
        StringField("Date", render_kw={"type": "date"}),
        label="Specific dates",
        min_entries=2,
        max_entries=DATE_ROWS,
    )
    ranges = RowList(
        FormField(TimeRangeForm), label="Time ranges", min_entries=2, max_entries=RANGE_ROWS
    )
    add_date = SubmitField("Add a date")
    add_range = SubmitField("Add a time range")


@dataclass
class Availability:
    preset: dict[str, str]
    custom_dates: list[date]
    dates: list[date]
    ranges: list[tuple[time, time]]


def wants_another_row(form: AvailabilityFields) -> bool:
    """The no-JavaScript "add a row" buttons: add the row and show the form again (with a
    message instead when the list is at the most a form reads)."""
    for button, rows, too_many in (
        (form.add_date, form.dates, TOO_MANY_DATES),
        (form.add_range, form.ranges, TOO_MANY_RANGES),
    ):
        if button.data:
            if rows.full():
                add_error(form, rows, too_many)
            else:
                rows.append_entry()
            return True
    return False


def add_error(form: AvailabilityFields, field: Field, message: str) -> None:
    """Show `message` at `field` and in the form's summary (once per field).

    FieldList keeps the errors it computed during validate(), so the summary cannot rely on
    form.errors for these: they are collected in `form.availability_problems` instead.
    """
    errors = list(field.errors) if isinstance(field.errors, list | tuple) else []
    if message in errors:
        return
    errors.append(message)
    field.errors = errors
    problems = getattr(form, "availability_problems", [])
    problems.append((field.id, f"{_field_name(field)}: {message}"))
    form.availability_problems = problems


_ROW_FIELD = re.compile(r"(dates|ranges)-(\d+)(?:-(start|end))?")


def _field_name(field: Field) -> str:
    """What the summary calls a field: rows by their place ("Time range 2, To"), since
    "Enter a time" three times over says nothing of where."""
    row = _ROW_FIELD.fullmatch(field.id or "")
    if row is None:
        return field.label.text
    kind, index, part = row.groups()
    if kind == "dates":
        return f"Date {int(index) + 1}"
    return f"Time range {int(index) + 1}" + {"start": ", From", "end": ", To", None: ""}[part]


def read_availability(
    form: AvailabilityFields,
    zone: ZoneInfo,
    now: datetime,
    session_minutes: int | None = None,
    session_field: Field | None = None,
    kept: Collection[date] = (),
    kept_ranges: Collection[tuple[time, time]] = (),
) -> Availability | None:
    """Parse and check the availability fields; on any problem put each message on the field
    that caused it and return None. `kept`, `kept_ranges`: the dates (and repeat's first
    date) and time ranges an offer being edited already has, accepted as they are once past
    (domain check_availability)."""
    ok = True
    for rows, too_many in ((form.dates, TOO_MANY_DATES), (form.ranges, TOO_MANY_RANGES)):
        if rows.overflowed:
            add_error(form, rows, too_many)
            ok = False
    if not ok:
        return None  # the rows read are shown back as typed, and nothing else is checked
    today = to_zone(now, zone).date()

    # Which input each checked date came from, so a domain Problem finds its field again.
    dates: list[date] = []
    sources: list[Field] = []
    preset: dict[str, str] = {}
    kind = form.preset.data or ""
    if not kind and (
        (form.preset_first.data or "").strip() or (form.preset_last.data or "").strip()
    ):
        # Shown without JavaScript whatever the choice: dropped, they would be lost unsaid.
        add_error(
            form,
            form.preset_first,
            "Choose Weekdays, Weekends or Every day for these first and last dates, or clear them",
        )
        ok = False
    if kind:
        try:
            first = parse_date(form.preset_first.data or "")
        except TimeInputError as exc:
            add_error(form, form.preset_first, str(exc))
            ok = False
            first = None
        try:
            last = parse_date(form.preset_last.data or "")
        except TimeInputError as exc:
            add_error(form, form.preset_last, str(exc))
            ok = False
            last = None
        if first and last:
            if first < today and first not in kept:
                add_error(form, form.preset_first, "Pick a first date from today on")
                ok = False
            try:
                days = preset_dates(kind, first, last)
            except TimeInputError as exc:
                add_error(form, form.preset_last, str(exc))
                ok = False
                days = []
            if ok and not days:
                add_error(form, form.preset_last, "There are no such days between these dates")
                ok = False
            for day in days:
                if day >= today or day in kept:
                    dates.append(day)
                    sources.append(form.preset_first)
            preset = {"kind": kind, "first": first.isoformat(), "last": last.isoformat()}

    custom: list[date] = []
    for entry in form.dates:
        text = (entry.data or "").strip()
        if not text:
            continue
        try:
            day = parse_date(text)
        except TimeInputError as exc:
            add_error(form, entry, str(exc))
            ok = False
            continue
        custom.append(day)
        dates.append(day)
        sources.append(entry)

    ranges: list[tuple[time, time]] = []
    range_sources: list[Field] = []
    for entry in form.ranges:
        start_text = (entry.start.data or "").strip()
        end_text = (entry.end.data or "").strip()
        if not start_text and not end_text:
            continue
        parsed: list[time] = []
        for sub, text in ((entry.start, start_text), (entry.end, end_text)):
            try:
                parsed.append(parse_hhmm(text))
            except TimeInputError as exc:
                add_error(form, sub, "Enter a time" if not text else str(exc))
                ok = False
        if len(parsed) == 2:
            ranges.append((parsed[0], parsed[1]))
            range_sources.append(entry.start)

    if not ok:
        return None

    problems = check_availability(
        dates,
        ranges,
        zone,
        now,
        session_minutes=session_minutes,
        kept=kept,
        kept_ranges=kept_ranges,
    )
    for problem in problems:
        kind_, _, index = problem.where.partition(":")
        targets = {"date": sources, "range": range_sources}.get(kind_, [])
        if index.isdigit() and int(index) < len(targets):
            target = targets[int(index)]
        elif kind_ == "session_minutes" and session_field is not None:
            target = session_field
        else:
            target = form.ranges if kind_ == "range" else form.dates
        add_error(form, target, problem.message)
    if problems:
        return None
    return Availability(preset, custom, sorted(set(dates)), ranges)
