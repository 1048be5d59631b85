"""The account page's forms: change the password or the email address, delete the account."""

from __future__ import annotations

from wtforms.validators import (
    Email,
    InputRequired,
    Length,
)

from skillswap.domain.users import (
    MAIL_CHOICES,
    User,
)
from skillswap.web.fields import BooleanField, EmailField, PasswordField, StringField
from skillswap.web.forms import (
    BaseForm,
    ChoosesNewPassword,
    new_password_pair,
    strip_text,
)


class ChangePasswordForm(ChoosesNewPassword, BaseForm):
    current_password = PasswordField(
        "Current password",
        validators=[InputRequired("Enter your current password")],
        render_kw={"autocomplete": "current-password"},
    )
    new_password, new_password_again = new_password_pair()


class DeleteAccountForm(BaseForm):
    delete_password = PasswordField(
        "Your password",
        validators=[InputRequired("Enter your password to delete your account")],
        render_kw={"autocomplete": "current-password"},
    )
    confirm_username = StringField(
        "Type your username to confirm",
        validators=[InputRequired("Type your username to confirm")],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class ChangeEmailForm(BaseForm):
    new_email = EmailField(
        "New email address",
        validators=[
            InputRequired("Enter the new email address"),
            Length(max=254, message="Use an address of at most 254 characters"),
            Email("Enter an email address like name@example.com", check_deliverability=False),
        ],
        description="We mail it a link; it replaces your address once you open that link",
        filters=[strip_text],
        render_kw={"autocomplete": "email"},
    )
    # Named apart from the other forms' password fields: /account shows them all, and ids
    # must be unique on a page.
    email_password = PasswordField(
        "Your password (to confirm the change)",
        validators=[InputRequired("Enter your password to change your email address")],
        render_kw={"autocomplete": "current-password"},
    )


class MailSettingsForm(BaseForm):
    """Which optional mail to get (domain/users.py: MAIL_CHOICES): a box each, ticked = on."""

    bookings = BooleanField(MAIL_CHOICES["bookings"])
    cancellations = BooleanField(MAIL_CHOICES["cancellations"])
    reminders = BooleanField(MAIL_CHOICES["reminders"])
    reviews = BooleanField(MAIL_CHOICES["reviews"])

    @classmethod
    def of(cls, user: User) -> MailSettingsForm:
        """The form as the person's settings stand (nothing submitted)."""
        return cls(formdata=None, data={c: c not in user.mail_off for c in MAIL_CHOICES})

    def choices(self) -> dict[str, bool]:
        return {choice: bool(self[choice].data) for choice in MAIL_CHOICES}
