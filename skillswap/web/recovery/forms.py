"""The forms of a password reset: ask for the link, then choose the new password."""

from __future__ import annotations

from wtforms import EmailField, PasswordField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from skillswap.domain.users import PASSWORD_MIN
from skillswap.web.forms import BaseForm, check_new_password, new_password_field, strip_text


class ForgotPasswordForm(BaseForm):
    email = EmailField(
        "Email",
        validators=[
            InputRequired("Enter the email address of your account"),
            Length(max=254, message="Use an address of at most 254 characters"),
            Email("Enter an email address like name@example.com", check_deliverability=False),
        ],
        description="The address you signed up with (or changed to on your account page)",
        filters=[strip_text],
        render_kw={"autocomplete": "email"},
    )


class ResetPasswordForm(BaseForm):
    """The same rules as choosing a password at sign-up (web/forms.py)."""

    new_password = new_password_field(
        "New password",
        "Choose a new password",
        f"At least {PASSWORD_MIN} characters, not a common password",
    )
    new_password_again = PasswordField(
        "New password again",
        validators=[
            InputRequired("Type the new password a second time"),
            EqualTo("new_password", "The two new passwords differ: type the same one twice"),
        ],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args: object, username: str = "", email: str = "", **kwargs: object):
        super().__init__(*args, **kwargs)
        self.account_names = (username, email)

    def validate_new_password(self, field: PasswordField) -> None:
        check_new_password(field, *self.account_names)
