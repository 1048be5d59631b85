"""The offer form: what is taught, how, and when (the availability fields are shared)."""

from __future__ import annotations

from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
)

from skillswap.domain.limits import MAX_TAG_LENGTH
from skillswap.web.availability import AvailabilityFields
from skillswap.web.fields import StringField, TextAreaField
from skillswap.web.forms import (
    LINE,
    LINES,
    BaseForm,
    check_skill,
    normalised,
    strip_text,
)

SESSION_LENGTHS = [
    ("", "The whole time range"),
    ("30", "30 minutes"),
    ("45", "45 minutes"),
    ("60", "1 hour"),
    ("90", "1½ hours"),
    ("120", "2 hours"),
]


class OfferForm(BaseForm, AvailabilityFields):
    title = StringField(
        "Title",
        filters=[normalised, strip_text],
        validators=[
            DataRequired("Give your session a title"),
            LINE,
            Length(max=100, message="Keep the title to 100 characters"),
        ],
    )
    skill = StringField(
        "Skill",
        filters=[normalised, strip_text],
        validators=[
            DataRequired("Which skill will you teach?"),
            LINE,
            Length(max=MAX_TAG_LENGTH, message=f"Keep the skill to {MAX_TAG_LENGTH} characters"),
        ],
        render_kw={"list": "teach-skills", "autocomplete": "off"},
    )
    description = TextAreaField(
        "Description",
        filters=[normalised],
        validators=[LINES, Length(max=2000, message="Keep the description to 2,000 characters")],
    )
    mode = RadioField(
        "Session type",
        choices=[SelectChoice("online", "Online"), SelectChoice("offline", "Offline (in person)")],
        validate_choice=False,
        validators=[
            InputRequired("Choose Online or Offline"),
            AnyOf(["online", "offline"], message="Choose Online or Offline"),
        ],
    )
    session_minutes = SelectField(
        "Session length",
        choices=[SelectChoice(value, label) for value, label in SESSION_LENGTHS],
        default="",
        validate_choice=False,
        validators=[
            AnyOf([v for v, _ in SESSION_LENGTHS], message="Choose one of the session lengths")
        ],
        description="Each time range is cut into sessions of this length",
    )

    def validate_skill(self, field: StringField) -> None:
        check_skill(field)
