"""Flask-WTF forms: one class per form, so fields, limits and messages are written once."""

from __future__ import annotations

from flask import current_app, g, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import validate_csrf
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    StopValidation,
    ValidationError,
)

from skillswap.availability import AvailabilityFields
from skillswap.domain.limits import MAX_LINKS, MAX_TAG_LENGTH, MAX_TAGS, skill_key_problem
from skillswap.domain.matching import normalise_skill
from skillswap.domain.schedule import MAX_FEEDBACK
from skillswap.domain.text import normalise, text_problem
from skillswap.domain.times import is_valid_zone
from skillswap.domain.users import (
    MAX_BIO,
    PASSWORD_MAX,
    PASSWORD_MIN,
    link_problem,
    split_tags,
    username_problem,
)
from skillswap.passwords import password_problem

SESSION_LENGTHS = [
    ("", "The whole time range"),
    ("30", "30 minutes"),
    ("45", "45 minutes"),
    ("60", "1 hour"),
    ("90", "1½ hours"),
    ("120", "2 hours"),
]

CSRF_EXPIRED = (
    "This form had expired, so nothing was saved. Everything you typed is still here: "
    "check it and send it again."
)


def _check_skill(field: StringField) -> None:
    # "!!!" normalises to nothing: nobody could ever find or match it.
    if field.data and not normalise_skill(field.data):
        raise ValidationError("Name the skill with letters or digits, like “Python” or “C++”")
    if field.data and (problem := skill_key_problem(normalise_skill(field.data))):
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
    password = new_password_field(
        "Password", "Choose a password", f"At least {PASSWORD_MIN} characters"
    )
    # Filled by static/app.js from the browser; UTC when JavaScript is off.
    timezone = HiddenField(default="UTC")

    def validate_username(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        problem = username_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def validate_password(self, field: PasswordField) -> None:
        _check_new_password(field, self.username.data or "", self.email.data or "")


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


class ProfileForm(BaseForm):
    display_name = StringField(
        "Display name",
        filters=[normalised],
        validators=[LINE, Length(max=60, message="Keep your name to 60 characters")],
        description="How others see you; your username is used when this is empty",
    )
    bio = TextAreaField(
        "Short bio",
        filters=[normalised],
        validators=[LINES, Length(max=MAX_BIO, message=f"Keep your bio to {MAX_BIO} characters")],
    )
    teach = TextAreaField(
        "Skills I can teach",
        filters=[normalised],
        validators=[LINES],
        description=f"Separate skills with commas or new lines (up to {MAX_TAGS})",
        render_kw={"rows": 2, "data-tags": ""},
    )
    learn = TextAreaField(
        "Skills I want to learn",
        filters=[normalised],
        validators=[LINES],
        description=f"Separate skills with commas or new lines (up to {MAX_TAGS})",
        render_kw={"rows": 2, "data-tags": ""},
    )
    links = TextAreaField(
        "Links",
        filters=[normalised],
        validators=[LINES],
        description=f"Social or GitHub profiles, one per line, starting with https:// "
        f"(up to {MAX_LINKS})",
        render_kw={"rows": 3},
    )
    timezone = SelectField(
        "Time zone",
        choices=[],
        validate_choice=False,
        render_kw={"data-detect-timezone": ""},
        description="Times you enter and see are in this zone",
    )

    def validate_timezone(self, field: SelectField) -> None:
        if not is_valid_zone(field.data or ""):
            raise ValidationError("Choose a time zone from the list")

    def validate_teach(self, field: TextAreaField) -> None:
        _check_tags(field)

    def validate_learn(self, field: TextAreaField) -> None:
        _check_tags(field)

    def validate_links(self, field: TextAreaField) -> None:
        links = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if len(links) > MAX_LINKS:
            raise ValidationError(f"Add at most {MAX_LINKS} links")
        for link in links:
            problem = link_problem(link)
            if problem:
                raise ValidationError(f"{link[:80]}: {problem}")


def _check_tags(field: TextAreaField) -> None:
    tags = split_tags(field.data or "")
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"List at most {MAX_TAGS} skills (you listed {len(tags)})")
    long = [t for t in tags if len(t) > MAX_TAG_LENGTH]
    if long:
        raise ValidationError(f"Keep each skill to {MAX_TAG_LENGTH} characters: {long[0][:50]}…")
    for tag in tags:
        if problem := skill_key_problem(normalise_skill(tag)):
            raise ValidationError(f"{tag[:50]}: {problem}")


class OfferForm(BaseForm, AvailabilityFields):
    title = StringField(
        "Title",
        filters=[normalised, strip_text],
        validators=[
            DataRequired("Give your session a title"),
            LINE,
            Length(max=100, message="Keep the title to 100 characters"),
        ],
    )
    skill = StringField(
        "Skill",
        filters=[normalised, strip_text],
        validators=[
            DataRequired("Which skill will you teach?"),
            LINE,
            Length(max=MAX_TAG_LENGTH, message=f"Keep the skill to {MAX_TAG_LENGTH} characters"),
        ],
        render_kw={"list": "teach-skills", "autocomplete": "off"},
    )
    description = TextAreaField(
        "Description",
        filters=[normalised],
        validators=[LINES, Length(max=2000, message="Keep the description to 2,000 characters")],
    )
    mode = RadioField(
        "Session type",
        choices=[SelectChoice("online", "Online"), SelectChoice("offline", "Offline (in person)")],
        validate_choice=False,
        validators=[
            InputRequired("Choose Online or Offline"),
            AnyOf(["online", "offline"], message="Choose Online or Offline"),
        ],
    )
    session_minutes = SelectField(
        "Session length",
        choices=[SelectChoice(value, label) for value, label in SESSION_LENGTHS],
        default="",
        validate_choice=False,
        validators=[
            AnyOf([v for v, _ in SESSION_LENGTHS], message="Choose one of the session lengths")
        ],
        description="Each time range is cut into sessions of this length",
    )

    def validate_skill(self, field: StringField) -> None:
        _check_skill(field)


class RequestForm(BaseForm, AvailabilityFields):
    skill = StringField(
        "Skill you want to learn",
        filters=[normalised, strip_text],
        validators=[
            DataRequired("Which skill do you want to learn?"),
            LINE,
            Length(max=MAX_TAG_LENGTH, message=f"Keep the skill to {MAX_TAG_LENGTH} characters"),
        ],
        render_kw={"list": "learn-skills", "autocomplete": "off"},
    )
    mode = RadioField(
        "Session type",
        choices=[
            SelectChoice("either", "Either"),
            SelectChoice("online", "Online"),
            SelectChoice("offline", "Offline (in person)"),
        ],
        default="either",
        validate_choice=False,
        validators=[
            InputRequired("Choose a session type"),
            AnyOf(["either", "online", "offline"], message="Choose Either, Online or Offline"),
        ],
    )

    def validate_skill(self, field: StringField) -> None:
        _check_skill(field)


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


# --- account: password change and deletion (skillswap/account.py) --------------------------


def _check_new_password(field: PasswordField, username: str, email: str) -> None:
    problem = password_problem(field.data or "", username, email)
    if problem:
        raise ValidationError(problem)


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        "Current password",
        validators=[InputRequired("Enter your current password")],
        render_kw={"autocomplete": "current-password"},
    )
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
        _check_new_password(field, *self.account_names)


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
