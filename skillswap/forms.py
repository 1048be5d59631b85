"""Flask-WTF forms: one class per form, so fields, limits and messages are written once."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import Email, InputRequired, Length, ValidationError

from skillswap.domain.users import PASSWORD_MAX, PASSWORD_MIN, username_problem

CSRF_EXPIRED = (
    "This form had expired, so nothing was saved. Everything you typed is still here: "
    "check it and send it again."
)


class BaseForm(FlaskForm):
    def csrf_failed(self) -> bool:
        return bool(self.meta.csrf and "csrf_token" in self.errors)


class SignupForm(BaseForm):
    username = StringField(
        "Username",
        validators=[InputRequired("Choose a username")],
        description="3–30 characters: letters, digits, _ and -",
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    email = EmailField(
        "Email",
        validators=[
            InputRequired("Enter your email address"),
            Length(max=254, message="Use an address of at most 254 characters"),
            Email("Enter an email address like name@example.com", check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        "Password",
        validators=[
            InputRequired("Choose a password"),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters",
            ),
        ],
        description=f"At least {PASSWORD_MIN} characters",
        render_kw={"autocomplete": "new-password"},
    )
    # Filled by static/app.js from the browser; UTC when JavaScript is off.
    timezone = HiddenField(default="UTC")

    def validate_username(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        problem = username_problem(field.data)
        if problem:
            raise ValidationError(problem)


class LoginForm(BaseForm):
    login = StringField(
        "Username or email",
        validators=[InputRequired("Enter your username or email")],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired("Enter your password")],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class ActionForm(BaseForm):
    """A button that changes state (logout, cancel...): it carries only the CSRF token."""
