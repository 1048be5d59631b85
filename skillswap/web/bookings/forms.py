"""Cancelling or moving a session, and rating it afterwards."""

from __future__ import annotations

from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    InputRequired,
    Length,
)

from skillswap.domain.reschedule import MAX_NOTE
from skillswap.domain.reviews import MAX_FEEDBACK
from skillswap.web.fields import HiddenField, StringField, TextAreaField
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


class RescheduleForm(BaseForm):
    # The free times are listed as radio buttons by the template (each with its wording
    # worked out in the view); the field only carries the choice, "offer_id:slot_id".
    slot = StringField("New time", validators=[InputRequired("Pick a new time")])
    message = TextAreaField(
        "Message (optional)",
        filters=[normalised],
        validators=[
            LINES,
            Length(max=MAX_NOTE, message=f"Keep the message to {MAX_NOTE} characters"),
        ],
        description="Sent to the other person with the new time",
        render_kw={"rows": 3},
    )
    # The session's sequence when this page was shown: a second send of the same form, or
    # one sent after the session changed, moves nothing.
    sequence = HiddenField()
