"""The learning-request form: the skill, the session type, and when."""

from __future__ import annotations

from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
)

from skillswap.domain.limits import MAX_TAG_LENGTH
from skillswap.web.availability import AvailabilityFields
from skillswap.web.fields import StringField
from skillswap.web.forms import (
    LINE,
    BaseForm,
    check_skill,
    normalised,
    strip_text,
)


class RequestForm(BaseForm, AvailabilityFields):
    skill = StringField(
        "Skill you want to learn",
        filters=[normalised, strip_text],
        validators=[
            DataRequired("Which skill do you want to learn?"),
            LINE,
            Length(max=MAX_TAG_LENGTH, message=f"Keep the skill to {MAX_TAG_LENGTH} characters"),
        ],
        render_kw={"list": "learn-skills", "autocomplete": "off"},
    )
    mode = RadioField(
        "Session type",
        choices=[
            SelectChoice("either", "Either"),
            SelectChoice("online", "Online"),
            SelectChoice("offline", "Offline (in person)"),
        ],
        default="either",
        validate_choice=False,
        validators=[
            InputRequired("Choose a session type"),
            AnyOf(["either", "online", "offline"], message="Choose Either, Online or Offline"),
        ],
    )

    def validate_skill(self, field: StringField) -> None:
        check_skill(field)
