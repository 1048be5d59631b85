"""The forms of a password reset: ask for the link, then choose the new password."""

from __future__ import annotations

from wtforms.validators import Email, InputRequired, Length

from skillswap.web.fields import EmailField
from skillswap.web.forms import BaseForm, ChoosesNewPassword, new_password_pair, strip_text


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


class ResetPasswordForm(ChoosesNewPassword, BaseForm):
    """The same rules as choosing a password at sign-up (web/forms.py)."""

    new_password, new_password_again = new_password_pair()
