"""The waitlist's two buttons: each a form of hidden fields (and the CSRF token)."""

from __future__ import annotations

from wtforms.validators import InputRequired, Length

from skillswap.web.fields import HiddenField
from skillswap.web.forms import BaseForm


class JoinForm(BaseForm):
    request_id = HiddenField(validators=[InputRequired(), Length(max=64)])
    teacher = HiddenField(validators=[InputRequired(), Length(max=64)])  # username


class LeaveForm(BaseForm):
    teacher = HiddenField(validators=[InputRequired(), Length(max=64)])  # user id
    skill = HiddenField(validators=[InputRequired(), Length(max=200)])  # normalised key
