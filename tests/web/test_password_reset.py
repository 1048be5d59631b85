""" "Forgot password?" end to end, with a real SMTP server in-process receiving the mails: the
same answer whether or not an account has the address, a link that works once and for an hour,
a new password under sign-up's rules, every other login ended, the owner told, and limits that
say nothing about who has an account.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.web.passwords import COMMON_PASSWORD
from tests.support.app_fixtures import AuthActions, Clock, close_app, csrf_token, make_app
from tests.support.smtp import SMTPServer, html_of, link_in, text_of
from tests.web.test_auth import (
    PASSWORD,
    assert_field_error,
    location,
    logged_in_as,
    page,
    repo,
)

NEW_PASSWORD = "Zq7!a-new-pass-phrase"


@pytest.fixture
def client(mail_app: Flask) -> FlaskClient:
    return mail_app.test_client()


@pytest.fixture
def ada(client: FlaskClient, smtp_server: SMTPServer) -> AuthActions:
    """ada signed up (in Europe/Berlin) and logged out again; her sign-up mail is put aside."""
    auth = AuthActions(client)
    auth.signup("ada", timezone="Europe/Berlin")
    auth.logout()
    smtp_server.received.clear()
    return auth


def ask_for_reset(client: FlaskClient, email: str):
    token = csrf_token(client, "/forgot-password")
    return client.post("/forgot-password", data={"email": email, "csrf_token": token})


def mails_to(smtp_server: SMTPServer, address: str) -> list[EmailMessage]:
    return [r.message for r in smtp_server.received if r.rcpt_tos == [address]]


def reset_link(smtp_server: SMTPServer, address: str = "ada@example.com") -> str:
    (mail,) = mails_to(smtp_server, address)
    assert mail["Subject"] == "Reset your SkillSwap password"
    return urlsplit(link_in(mail, "/reset-password/")).path


def set_password(client: FlaskClient, link: str, password: str, again: str | None = None):
    form = page(client.get(link))
    token = form.value("csrf_token")
    data = {"new_password": password, "new_password_again": again or password, "csrf_token": token}
    return client.post(link, data=data)


# --- asking -------------------------------------------------------------------------------


def test_the_login_page_offers_forgot_password(client: FlaskClient) -> None:
    links = page(client.get("/login")).all("a", href="/forgot-password")
    assert [link.text for link in links] == ["Forgot password?"]


def test_a_reset_mail_reaches_the_owner_in_their_name_and_zone(
    client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    response = ask_for_reset(client, "ADA@example.com ")

    assert response.status_code == 302
    assert location(response) == "/forgot-password/sent"
    assert "If an account uses that address" in page(client.get("/forgot-password/sent")).main_text
    (mail,) = mails_to(smtp_server, "ada@example.com")
    text, html = text_of(mail), html_of(mail)
    assert text.startswith("Hi ada,")
    assert "Hi ada," in html
    # Asked at 13:00 in Berlin (12:00 UTC): the link works until 14:00 there, zone named.
    assert "until Mon 23 Nov 2026, 14:00 (Europe/Berlin)" in " ".join(text.split())
    # Neither PUBLIC_URL nor TRUSTED_HOSTS is set here: the request's host vouches for
    # nothing, so the link starts with LOCAL_URL (see the next test).
    assert link_in(mail, "/reset-password/").startswith("http://127.0.0.1:5000/reset-password/")


def test_a_display_name_cannot_send_the_reset_mail_elsewhere(
    mail_app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    """A session held for a minute (a shared computer) could set a display name that is an
    encoded word for "CR LF Cc: spy": the owner's reset mail then went to the spy, and not to
    the owner (an outside probe, through SMTP as here). No password is needed to set a name,
    and a password change does not undo it."""
    auth = AuthActions(client)
    auth.signup("ada", timezone="Europe/Berlin")
    name = "=?utf-8?q?Ada=0D=0ACc:spy@attacker.example?="
    token = csrf_token(client, "/profile/edit")
    form = {"csrf_token": token, "display_name": name, "timezone": "Europe/Berlin"}
    assert client.post("/profile/edit", data=form).status_code == 302
    auth.logout()
    smtp_server.received.clear()

    # Anyone may ask, from a browser with no session.
    assert ask_for_reset(mail_app.test_client(), "ada@example.com").status_code == 302
    assert [r.rcpt_tos for r in smtp_server.received] == [["ada@example.com"]]
    (mail,) = mails_to(smtp_server, "ada@example.com")
    assert mail["Cc"] is None
    assert "Ada=0D=0ACc:spy@attacker.example" in str(mail["To"])


def test_a_reset_link_is_never_built_from_an_untrusted_host_header(
    client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    """Anyone may ask for a reset of someone else's account with `Host: evil.example`: had
    the link followed that header, the owner's click would hand the token to evil.example."""
    evil = {"Host": "evil.example"}  # the form opened, and sent, with that header
    token = csrf_token(client, "/forgot-password", headers=evil)
    response = client.post(
        "/forgot-password", data={"email": "ada@example.com", "csrf_token": token}, headers=evil
    )
    assert response.status_code == 302
    (mail,) = mails_to(smtp_server, "ada@example.com")
    assert "evil.example" not in text_of(mail) + html_of(mail)
    assert urlsplit(link_in(mail, "/reset-password/")).netloc == "127.0.0.1:5000"


@pytest.mark.parametrize(
    ("config", "link"),
    [
        # TRUSTED_HOSTS vouches for the request's host (Flask answers any other with 400).
        ({"TRUSTED_HOSTS": ["localhost"]}, "http://localhost"),
        # PUBLIC_URL is the site's one address, whatever the request's host.
        ({"PUBLIC_URL": "https://skills.example"}, "https://skills.example"),
    ],
)
def test_a_reset_link_starts_with_the_sites_configured_address(
    tmp_path: Path, clock: Clock, smtp_server: SMTPServer, config: dict, link: str
) -> None:
    app = make_app(tmp_path, clock, **smtp_server.app_config(), **config)
    try:
        client = app.test_client()
        AuthActions(client).signup("ada", email="ada@example.com")
        ask_for_reset(client, "ada@example.com")
        (mail,) = [m for m in mails_to(smtp_server, "ada@example.com") if "Reset" in m["Subject"]]
        assert link_in(mail, "/reset-password/").startswith(f"{link}/reset-password/")
        if "TRUSTED_HOSTS" in config:
            evil = client.get("/forgot-password", headers={"Host": "evil.example"})
            assert evil.status_code == 400
    finally:
        close_app(app)


def test_the_answer_is_the_same_for_an_address_without_an_account(
    client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    known = ask_for_reset(client, "ada@example.com")
    unknown = ask_for_reset(client, "nobody@example.com")

    assert (known.status_code, location(known)) == (unknown.status_code, location(unknown))
    assert known.get_data() == unknown.get_data()
    assert [r.rcpt_tos for r in smtp_server.received] == [["ada@example.com"]]


def test_the_request_form_keeps_a_mistyped_address(client: FlaskClient) -> None:
    token = csrf_token(client, "/forgot-password")
    response = client.post("/forgot-password", data={"email": "ada@", "csrf_token": token})

    assert response.status_code == 400
    p = page(response)
    assert_field_error(p, "email", "Enter an email address like name@example.com")
    assert p.value("email") == "ada@"


# --- using the link -------------------------------------------------------------------------


def test_the_link_sets_a_new_password_and_tells_the_owner(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    ask_for_reset(client, "ada@example.com")
    link = reset_link(smtp_server)
    smtp_server.received.clear()

    opened = client.get(link)
    # Its address holds the secret: no cache, shared or the browser's, keeps the page.
    assert opened.headers["Cache-Control"] == "no-store"
    form = page(opened)
    assert "Choose a new password" in form.main_text
    assert "@ada" in form.main_text
    response = set_password(client, link, NEW_PASSWORD)

    assert response.status_code == 302
    assert location(response) == "/login"
    assert "Your password is changed" in page(client.get("/login")).main_text
    assert ada.login(password=PASSWORD).status_code == 401
    assert ada.login(password=NEW_PASSWORD).status_code == 302
    assert logged_in_as(client) == "ada"
    (told,) = mails_to(smtp_server, "ada@example.com")
    assert told["Subject"] == "Your SkillSwap password was changed"
    assert "every other login to the account was ended" in " ".join(text_of(told).split())


def test_the_link_works_once(
    client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    ask_for_reset(client, "ada@example.com")
    link = reset_link(smtp_server)
    other_tab = page(client.get(link)).value("csrf_token")
    set_password(client, link, NEW_PASSWORD)

    again = client.get(link)
    assert again.status_code == 410
    assert "already been used" in page(again).main_text
    # Nor can the form, still open in another tab, set a second password.
    second = client.post(
        link,
        data={
            "new_password": "Zq7!yet-another-pass",
            "new_password_again": "Zq7!yet-another-pass",
            "csrf_token": other_tab,
        },
    )
    assert second.status_code == 410
    assert ada.login(password=NEW_PASSWORD).status_code == 302


def test_the_link_expires_after_an_hour(
    client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer, clock: Clock
) -> None:
    ask_for_reset(client, "ada@example.com")
    link = reset_link(smtp_server)

    clock.advance(minutes=59)
    assert client.get(link).status_code == 200
    token = page(client.get(link)).value("csrf_token")
    clock.advance(minutes=2)
    expired = client.get(link)
    posted = client.post(
        link,
        data={
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
            "csrf_token": token,
        },
    )

    assert expired.status_code == 410
    assert "This link has expired" in page(expired).main_text
    assert posted.status_code == 410
    assert ada.login(password=PASSWORD).status_code == 302


def test_a_reset_ends_every_other_login(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    laptop, phone = mail_app.test_client(), mail_app.test_client()
    AuthActions(laptop).login()
    AuthActions(phone).login()
    assert logged_in_as(laptop) == logged_in_as(phone) == "ada"

    ask_for_reset(client, "ada@example.com")
    set_password(client, reset_link(smtp_server), NEW_PASSWORD)

    assert logged_in_as(laptop) is None
    assert logged_in_as(phone) is None
    assert location(laptop.get("/profile")).startswith("/login")
    assert repo(mail_app).find_user("ada").logins == []


def test_logging_out_everywhere_makes_an_earlier_link_stale(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    ask_for_reset(client, "ada@example.com")
    link = reset_link(smtp_server)
    repo(mail_app).bump_session_version(repo(mail_app).find_user("ada").id)

    assert client.get(link).status_code == 410


def test_the_new_password_follows_the_sign_up_rules(
    client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    ask_for_reset(client, "ada@example.com")
    link = reset_link(smtp_server)

    common = set_password(client, link, "password1")
    differ = set_password(client, link, NEW_PASSWORD, again=NEW_PASSWORD + "x")
    named = set_password(client, link, "ada@example.com")

    assert common.status_code == differ.status_code == named.status_code == 400
    assert_field_error(page(common), "new_password", COMMON_PASSWORD)
    assert_field_error(page(differ), "new_password_again", "The two new passwords differ")
    assert_field_error(page(named), "new_password", "must not be your username or email")
    # Refused passwords leave the link usable and the old password in place.
    assert ada.login(password=PASSWORD).status_code == 302
    ada.logout()
    assert set_password(client, link, NEW_PASSWORD).status_code == 302


def test_a_garbled_link_says_so(client: FlaskClient) -> None:
    response = client.get("/reset-password/not-a-token")
    assert response.status_code == 400
    assert "not valid" in page(response).main_text


def test_a_reset_goes_to_an_unconfirmed_address_and_confirms_it(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    assert repo(mail_app).find_user("ada").email_verified is False

    ask_for_reset(client, "ada@example.com")
    set_password(client, reset_link(smtp_server), NEW_PASSWORD)

    # Whoever used the link reads ada's mail: the address is hers.
    assert repo(mail_app).find_user("ada").email_verified is True


# --- limits ---------------------------------------------------------------------------------


@pytest.fixture
def limited(tmp_path: Path, clock: Clock, smtp_server: SMTPServer) -> Iterator[Flask]:
    app = make_app(
        tmp_path,
        clock,
        RATELIMIT_ENABLED=True,
        RESET_RATE_LIMIT="4 per hour",
        RESET_ACCOUNT_RATE_LIMIT="2 per hour",
        **smtp_server.app_config(),
    )
    yield app
    close_app(app)


def test_reset_mails_are_limited_per_address_without_telling(
    limited: Flask, smtp_server: SMTPServer
) -> None:
    AuthActions(limited.test_client()).signup("ada")
    smtp_server.received.clear()
    answers = []
    for _ in range(3):  # under the per-client limit (4): the address's count stops the third
        client = limited.test_client()
        response = ask_for_reset(client, "ada@example.com")
        answers.append((response.status_code, location(response)))

    assert answers == [(302, "/forgot-password/sent")] * 3
    assert len(mails_to(smtp_server, "ada@example.com")) == 2


def test_reset_mails_are_limited_per_account(
    limited: Flask, smtp_server: SMTPServer, clock: Clock
) -> None:
    """The account's count holds across its addresses: asking by the old and then the new
    address of an account that changed its address counts twice against the same account."""
    auth = AuthActions(limited.test_client())
    auth.signup("ada")
    uid = repo(limited).find_user("ada").id
    for address in ("one@example.com", "two@example.com", "three@example.com"):
        repo(limited).ask_email_change(uid, address)
        assert repo(limited).confirm_email(uid, address)[0] == "confirmed"
        ask_for_reset(limited.test_client(), address)

    assert [r.rcpt_tos for r in smtp_server.received if "Reset" in r.message["Subject"]] == [
        ["one@example.com"],
        ["two@example.com"],
    ]


def test_reset_requests_are_limited_per_client(limited: Flask) -> None:
    client = limited.test_client()
    for n in range(4):
        assert ask_for_reset(client, f"someone{n}@example.com").status_code == 302
    refused = ask_for_reset(client, "someone@example.com")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


def test_a_reset_lifts_the_lock_that_failed_logins_put_on_the_account(
    tmp_path: Path, clock: Clock, smtp_server: SMTPServer
) -> None:
    app = make_app(
        tmp_path,
        clock,
        RATELIMIT_ENABLED=True,
        LOGIN_ACCOUNT_RATE_LIMIT="2 per 15 minutes",
        **smtp_server.app_config(),
    )
    try:
        AuthActions(app.test_client()).signup("ada")
        attacker = AuthActions(app.test_client())
        for _ in range(3):
            attacker.login(password="guess after guess")
        owner = AuthActions(app.test_client())  # a new browser: no device cookie
        assert owner.login(password=PASSWORD).status_code == 429

        smtp_server.received.clear()
        ask_for_reset(owner.client, "ada@example.com")
        set_password(owner.client, reset_link(smtp_server), NEW_PASSWORD)

        assert owner.login(password=NEW_PASSWORD).status_code == 302
    finally:
        close_app(app)
