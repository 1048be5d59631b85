"""Cancelling a session, and rating it afterwards."""

from __future__ import annotations

from wtforms import (
    RadioField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    InputRequired,
    Length,
)

from skillswap.domain.reviews import MAX_FEEDBACK
from skillswap.web.forms import (
    LINES,
    BaseForm,
    normalised,
)


class CancelForm(BaseForm):
    reason = TextAreaField(
        "Reason (optional)",
        filters=[normalised],
        validators=[LINES, Length(max=500, message="Keep the reason to 500 characters")],
        description="The other person sees this on their dashboard",
        render_kw={"rows": 3},
    )


class ReviewForm(BaseForm):
    rating = RadioField(
        "Your rating",
        choices=[SelectChoice(str(n)) for n in range(1, 11)],
        validate_choice=False,
        validators=[
            InputRequired("Choose a rating from 1 to 10"),
            AnyOf([str(n) for n in range(1, 11)], message="Choose a rating from 1 to 10"),
        ],
    )
    feedback = TextAreaField(
        "Feedback (optional)",
        filters=[normalised],
        validators=[LINES, Length(max=MAX_FEEDBACK, message="Keep feedback to 1,000 characters")],
        render_kw={"rows": 4},
    )
