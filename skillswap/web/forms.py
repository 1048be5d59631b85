"""Flask-WTF forms: one class per form, so fields, limits and messages are written once."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, session
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.datastructures import CombinedMultiDict
from wtforms.validators import (
    EqualTo,
    InputRequired,
    Length,
    StopValidation,
    ValidationError,
)

from skillswap.domain.limits import skill_key_problem
from skillswap.domain.skills import normalise_skill
from skillswap.domain.text import is_visible, normalise, text_problem
from skillswap.domain.users import (
    PASSWORD_MAX,
    PASSWORD_MIN,
)
from skillswap.web.fields import PasswordField, StringField
from skillswap.web.passwords import password_problem

CSRF_EXPIRED = (
    "This form had expired, so nothing was saved. Everything you typed is still here: "
    "check it and send it again."
)


# "!!!" normalises to nothing: nobody could ever find or match it.
SKILL_WITHOUT_LETTERS = "Name the skill with letters or digits, like “Python” or “C++”"


def skill_problem(text: str) -> str | None:
    """Why `text` cannot name a skill people search for and book, or None."""
    key = normalise_skill(text)
    if not key or not is_visible(key):  # "!!!", or marks alone: nothing to find
        return SKILL_WITHOUT_LETTERS
    return skill_key_problem(key)


def check_skill(field: StringField) -> None:
    if field.data and (problem := skill_problem(field.data)):
        raise ValidationError(problem)


def strip_text(value: str | None) -> str | None:
    """Surrounding spaces are never meant: a title of three spaces is no title."""
    return value.strip() if isinstance(value, str) else value


def normalised(value: str | None) -> str | None:
    """A filter: text in one Unicode form (NFC) with \\n line ends (skillswap/domain/text.py)."""
    return normalise(value) if isinstance(value, str) else value


class PlainText:
    """No control or direction characters (skillswap/domain/text.py); `multiline` keeps new
    lines and tabs. Stops the field's other checks: their messages would quote the text."""

    def __init__(self, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        problem = text_problem(field.data or "", self.multiline) if field.data else None
        if problem:
            raise StopValidation(problem)


LINE = PlainText()
LINES = PlainText(multiline=True)


def new_password_field(label: str, missing: str, hint: str) -> PasswordField:
    """A field for choosing a password: the same length rule and wording wherever one is chosen
    (the common-password and not-your-name checks run in the form's validator)."""
    return PasswordField(
        label,
        validators=[
            InputRequired(missing),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters",
            ),
        ],
        description=hint,
        render_kw={"autocomplete": "new-password"},
    )


class BaseForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: FlaskForm, formdata: Any) -> Any:
            """The posted form's fields only. Flask-WTF adds a request's file parts to them,
            and no page here takes a file: a part named like a text field would reach the
            code as a file object (a 500), or tick a box."""
            data = super().wrap_formdata(form, formdata)
            return request.form if isinstance(data, CombinedMultiDict) else data

    def csrf_failed(self) -> bool:
        return bool(self.meta.csrf and "csrf_token" in self.errors)


class ActionForm(BaseForm):
    """A button that changes state (logout, cancel...): it carries only the CSRF token."""


def action_csrf_valid() -> bool:
    """What `ActionForm().validate()` answers, without building a form: whether the POST
    carries a valid CSRF token. For the booking button, which a crowd may press at once for
    one slot: building a form for one token cost a sixth of each refusal."""
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True) or g.get("csrf_valid", False):
        return True
    try:
        validate_csrf(request.form.get(config.get("WTF_CSRF_FIELD_NAME", "csrf_token")))
    except ValidationError:
        return False
    return True


#: Sessions a worker keeps a signed CSRF token for; when full, it starts over (each session's
#: next form signs its token again).
SIGNED_TOKENS_KEPT = 4096
_signed_tokens: dict[tuple[str | bytes, str], str] = {}


def session_csrf_token() -> str:
    """Flask-WTF's `csrf_token()` for templates, signed once per session and worker rather than
    for every page with a form. The token lives as long as the session (WTF_CSRF_TIME_LIMIT is
    None), so one signed an hour ago is exactly as good as one signed now; making a new one
    (a serializer, an HMAC, the encoding) was a twentieth of showing a booking page. Checking a
    token that comes back is unchanged (validate_csrf)."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field)
    if raw is None or config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return generate_csrf()  # a new session's token, or tokens that expire: sign it now
    key = (config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, raw)
    token = _signed_tokens.get(key)
    if token is None:
        token = generate_csrf()
        if len(_signed_tokens) >= SIGNED_TOKENS_KEPT:
            _signed_tokens.clear()
        _signed_tokens[key] = token
    else:
        # Where generate_csrf keeps the request's token: a form built later takes this one.
        setattr(g, field, token)
    return token


# --- account: password change and deletion (skillswap/account.py) --------------------------


def check_new_password(field: PasswordField, username: str, email: str) -> None:
    if field.errors:
        return  # the length first: one thing to fix at a time
    problem = password_problem(field.data or "", username, email)
    if problem:
        raise ValidationError(problem)


def new_password_pair() -> tuple[PasswordField, PasswordField]:
    """`new_password` and `new_password_again`, as the password change and the reset ask for
    them (made where the form declares them, so they keep their place in its field order)."""
    return (
        new_password_field(
            "New password",
            "Choose a new password",
            f"At least {PASSWORD_MIN} characters, not a common password",
        ),
        PasswordField(
            "New password again",
            validators=[
                InputRequired("Type the new password a second time"),
                EqualTo("new_password", "The two new passwords differ: type the same one twice"),
            ],
            render_kw={"autocomplete": "new-password"},
        ),
    )


class ChoosesNewPassword:
    """For a form with `new_password`: checked against the account's own names, given as
    `username=` and `email=` when the form is made."""

    def __init__(self, *args: object, username: str = "", email: str = "", **kwargs: object):
        super().__init__(*args, **kwargs)
        self.account_names = (username, email)

    def validate_new_password(self, field: PasswordField) -> None:
        check_new_password(field, *self.account_names)
