"""Sign-up and log-in forms."""

from __future__ import annotations

from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    ValidationError,
)

from skillswap.domain.users import (
    PASSWORD_MIN,
    username_problem,
)
from skillswap.web.fields import EmailField, HiddenField, PasswordField, StringField
from skillswap.web.forms import (
    BaseForm,
    check_new_password,
    new_password_field,
    strip_text,
)


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
        # Spaces around a pasted address, as the other address forms allow.
        filters=[strip_text],
        render_kw={"autocomplete": "email"},
    )
    password = new_password_field(
        "Password", "Choose a password", f"At least {PASSWORD_MIN} characters"
    )
    # Filled by static/app.js from the browser; UTC when JavaScript is off.
    # app.js fills in the browser's zone; without JavaScript it stays empty (the zone is UTC,
    # and the welcome says where to set it).
    timezone = HiddenField(default="")

    def validate_username(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        problem = username_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def validate_password(self, field: PasswordField) -> None:
        check_new_password(field, self.username.data or "", self.email.data or "")


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
