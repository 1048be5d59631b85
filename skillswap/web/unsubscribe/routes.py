"""One-click unsubscribe (RFC 8058): every optional mail links to /unsubscribe/<token> and
names it in its List-Unsubscribe header, with List-Unsubscribe-Post: List-Unsubscribe=One-Click.

- GET shows what the link turns off and a button; it changes nothing, because mail scanners
  and link previews open links in mails.
- POST turns that kind of mail off. Mail apps send it themselves ("Unsubscribe" beside the
  sender's name), with no cookies and no CSRF token: the signed token in the address is the
  authority (services/notify.py: unsubscribe_token), so this is the one POST that checks no
  CSRF token. Pressing the button sends the same POST.

No login: a person who reads the mail on their phone must not have to log in to stop it.
Turning mail back on is on /account.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from skillswap.domain.users import MAIL_CHOICES
from skillswap.mail import BadToken, ExpiredToken, StaleToken
from skillswap.services.notify import read_unsubscribe
from skillswap.web.common import authorised_by_link, now, repo

bp = Blueprint("unsubscribe", __name__)

WHAT = {
    "bookings": "mail about sessions booked with you or by you, and moved",
    "cancellations": "mail about cancelled sessions",
    "reminders": "reminders before your sessions and to rate them",
    "reviews": "mail about reviews you receive",
}


def _problem(message: str, status: int) -> tuple[str, int]:
    page = render_template(
        "link_problem.html",
        heading="This unsubscribe link cannot be used",
        problem=message + " You can choose which mail you get on your account page.",
        action=(url_for("account.show") + "#mail", "Go to your mail settings"),
    )
    return page, status


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@authorised_by_link
def confirm(token: str) -> tuple[str, int]:
    try:
        user, choice = read_unsubscribe(str(current_app.config["SECRET_KEY"]), token, repo(), now())
    except BadToken as problem:
        return _problem(
            str(problem), 410 if isinstance(problem, ExpiredToken | StaleToken) else 400
        )
    if choice not in MAIL_CHOICES:
        return _problem("This link is not valid. Check that it was copied whole.", 400)
    done = request.method == "POST"
    if done:
        updated = repo().set_mail_choice(user.id, choice, on=False)
        user = updated or user
    page = render_template(
        "unsubscribe/confirm.html",
        what=WHAT[choice],
        address=user.email,
        off=choice in user.mail_off,
        done=done,
    )
    return page, 200
