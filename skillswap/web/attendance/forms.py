"""The did-it-happen buttons and the Decline button: each carries its CSRF token."""

from __future__ import annotations

from wtforms.validators import AnyOf, InputRequired

from skillswap.domain.attendance import MARKS
from skillswap.web.fields import StringField
from skillswap.web.forms import BaseForm

CHOOSE = "Choose whether the session happened, or who did not come."


class MarkForm(BaseForm):
    # Sent by the pressed button (name="mark"); the dashboard renders one per mark.
    mark = StringField("Did it happen?", validators=[InputRequired(CHOOSE), AnyOf(MARKS, CHOOSE)])


class DeclineForm(BaseForm):
    """Only the CSRF token: the invitation is named in the address."""
