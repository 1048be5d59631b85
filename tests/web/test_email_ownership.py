"""Email ownership end to end, with a real SMTP server in-process: a new account's link, the
profile's banner until it is used, no other mail to an unconfirmed address, accounts from
before counting as confirmed, changing the address on /account (the password, the new address
confirmed before it replaces the old, the old one told), and an index nobody can use to keep
someone else's address from them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.domain.users import UNVERIFIED_HOLD
from skillswap.repo.keys import email_key, user_key
from tests.support.app_fixtures import AuthActions, Clock, close_app, csrf_token, make_app
from tests.support.smtp import SMTPServer, html_of, link_in, text_of
from tests.web.test_auth import PASSWORD, assert_field_error, location, page, repo, store

NEW_PASSWORD = "Zq7!a-new-pass-phrase"
BANNER = "Please confirm your email address"


@pytest.fixture
def client(mail_app: Flask) -> FlaskClient:
    return mail_app.test_client()


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def subjects(smtp_server: SMTPServer) -> list[tuple[str, str]]:
    return [(r.rcpt_tos[0], str(r.message["Subject"])) for r in smtp_server.received]


def last_link(smtp_server: SMTPServer, address: str) -> str:
    mails = [r.message for r in smtp_server.received if r.rcpt_tos == [address]]
    assert mails, f"no mail to {address}"
    return urlsplit(link_in(mails[-1], "/verify-email/")).path


def confirm(client: FlaskClient, link: str):
    """Open the link, then press the button on the page it opens (the page's answer when it
    offers no button)."""
    opened = client.get(link)
    if opened.status_code != 200:
        return opened
    tokens = [i.attrs["value"] for i in page(opened).all("input", name="csrf_token")]
    return client.post(link, data={"csrf_token": tokens[-1]})


def change_email(client: FlaskClient, new_email: str, password: str = PASSWORD):
    token = csrf_token(client, "/account")
    return client.post(
        "/account/email",
        data={"new_email": new_email, "email_password": password, "csrf_token": token},
    )


def change_password(client: FlaskClient) -> None:
    token = csrf_token(client, "/account")
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302


# --- a new account's address ----------------------------------------------------------------


def test_a_new_account_gets_a_link_and_a_banner_until_it_is_used(
    mail_app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.signup("ada", timezone="Asia/Tokyo")

    assert subjects(smtp_server) == [
        ("ada@example.com", "Confirm your email address for SkillSwap")
    ]
    (mail,) = [r.message for r in smtp_server.received]
    assert text_of(mail).startswith("Hi ada,")
    assert "ada@example.com" in html_of(mail)
    assert "(Asia/Tokyo)" in text_of(mail)  # until when the link works, in her zone
    assert BANNER in page(client.get("/profile")).main_text
    assert (
        store(mail_app).get(user_key(repo(mail_app).find_user("ada").id))["email_verified"] is False
    )

    response = confirm(client, last_link(smtp_server, "ada@example.com"))

    assert response.status_code == 302
    assert location(response) == "/profile"
    profile = page(client.get("/profile")).main_text
    assert "ada@example.com is confirmed" in profile
    assert BANNER not in profile
    assert repo(mail_app).find_user("ada").email_verified is True


def test_opening_the_link_changes_nothing_until_the_button_is_pressed(
    mail_app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    """Mail scanners open the links in mails; only a person presses the button."""
    auth.signup("ada")
    opened = client.get(last_link(smtp_server, "ada@example.com"))

    assert opened.status_code == 200
    assert "Confirm ada@example.com" in page(opened).main_text
    assert repo(mail_app).find_user("ada").email_verified is False


def test_the_link_works_from_a_browser_that_is_not_logged_in(
    mail_app: Flask, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.signup("ada")
    elsewhere = mail_app.test_client()

    response = confirm(elsewhere, last_link(smtp_server, "ada@example.com"))

    assert location(response) == "/login"
    assert repo(mail_app).find_user("ada").email_verified is True
    again = elsewhere.get(last_link(smtp_server, "ada@example.com"))
    assert again.status_code == 410  # used: nothing left to confirm


def test_send_the_link_again_from_the_banner(
    client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.signup("ada")
    token = csrf_token(client, "/profile")

    response = client.post("/account/email/resend", data={"csrf_token": token, "next": "/profile"})

    assert location(response) == "/profile"
    assert "We have mailed a new link" in page(client.get("/profile")).main_text
    assert [s for _, s in subjects(smtp_server)] == ["Confirm your email address for SkillSwap"] * 2


def test_links_sent_are_limited_per_account(
    tmp_path: Path, clock: Clock, smtp_server: SMTPServer
) -> None:
    app = make_app(
        tmp_path,
        clock,
        RATELIMIT_ENABLED=True,
        VERIFY_RATE_LIMIT="2 per hour",
        **smtp_server.app_config(),
    )
    try:
        client = app.test_client()
        AuthActions(client).signup("ada")  # the first link
        for _ in range(2):
            token = csrf_token(client, "/profile")
            client.post("/account/email/resend", data={"csrf_token": token, "next": "/profile"})

        assert len(smtp_server.received) == 2
        assert "no more go out for now" in page(client.get("/profile")).main_text
    finally:
        close_app(app)


def test_an_unconfirmed_address_gets_no_other_mail(
    client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.signup("ada")
    smtp_server.received.clear()

    change_password(client)  # "your password was changed" would go to a confirmed address

    assert smtp_server.received == []


def test_a_confirmed_address_is_told_when_the_password_changes(
    client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.signup("ada")
    confirm(client, last_link(smtp_server, "ada@example.com"))
    smtp_server.received.clear()

    change_password(client)

    assert subjects(smtp_server) == [("ada@example.com", "Your SkillSwap password was changed")]


def test_accounts_from_before_mail_count_as_confirmed(
    mail_app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.signup("ada")
    s = store(mail_app)
    key = user_key(repo(mail_app).find_user("ada").id)
    old_record = {
        k: v
        for k, v in s.get(key).items()
        if k not in ("email_verified", "pending_email", "pending_since")
    }
    s.put(key, old_record)  # as an account made before this version was stored
    smtp_server.received.clear()

    assert BANNER not in page(client.get("/profile")).main_text
    change_password(client)
    assert subjects(smtp_server) == [("ada@example.com", "Your SkillSwap password was changed")]


# --- changing the address -------------------------------------------------------------------


@pytest.fixture
def ada(client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer) -> AuthActions:
    """ada, logged in, her address confirmed, her mailbox emptied."""
    auth.signup("ada", timezone="Europe/Berlin")
    confirm(client, last_link(smtp_server, "ada@example.com"))
    smtp_server.received.clear()
    return auth


def test_a_new_address_replaces_the_old_only_once_confirmed(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    response = change_email(client, "ada@new.example")

    assert response.headers["Location"].endswith("/account#email")
    account = page(client.get("/account")).main_text
    assert "We have mailed a link to ada@new.example" in account
    assert "Waiting for confirmation: ada@new.example" in account
    assert sorted(subjects(smtp_server)) == [
        ("ada@example.com", "Your SkillSwap email address is being changed"),
        ("ada@new.example", "Confirm your email address for SkillSwap"),
    ]
    notice = next(r.message for r in smtp_server.received if r.rcpt_tos == ["ada@example.com"])
    assert "ada@new.example" in text_of(notice)
    assert "(Europe/Berlin)" in text_of(notice)
    # Until then the old address is the account's: it logs in, and the new one does not.
    users = repo(mail_app)
    assert users.find_user("ada").email == "ada@example.com"
    assert users.find_user("ada@example.com") is not None
    assert users.find_user("ada@new.example") is None

    confirm(client, last_link(smtp_server, "ada@new.example"))

    assert users.find_user("ada").email == "ada@new.example"
    assert users.find_user("ada@new.example").username == "ada"
    assert users.find_user("ada@example.com") is None
    assert store(mail_app).get(email_key("ada@example.com")) is None
    ada.logout()
    assert ada.login("ada@new.example").status_code == 302


def test_changing_the_address_needs_the_password_and_keeps_what_was_typed(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    response = change_email(client, "ada@new.example", password="not my password")

    assert response.status_code == 400
    p = page(response)
    assert_field_error(p, "email_password", "That is not your current password")
    assert p.value("new_email") == "ada@new.example"
    assert smtp_server.received == []
    assert repo(mail_app).find_user("ada").pending_email == ""


def test_an_address_another_account_has_is_refused(
    client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer, mail_app: Flask
) -> None:
    AuthActions(mail_app.test_client()).signup("bob")
    smtp_server.received.clear()

    response = change_email(client, "BOB@example.com")

    assert response.status_code == 400
    p = page(response)
    assert_field_error(p, "new_email", "An account with this email exists already")
    assert p.value("new_email") == "BOB@example.com"
    assert smtp_server.received == []


def test_an_address_waiting_for_confirmation_keeps_it_from_nobody(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    change_email(client, "shared@example.com")
    link = last_link(smtp_server, "shared@example.com")

    bob = AuthActions(mail_app.test_client())
    assert bob.signup("bob", email="shared@example.com").status_code == 302

    taken = confirm(client, link)
    assert taken.status_code == 409
    assert "Another account uses shared@example.com now" in page(taken).main_text
    assert repo(mail_app).find_user("ada").email == "ada@example.com"
    assert repo(mail_app).find_user("shared@example.com").username == "bob"


def test_a_password_change_cancels_a_change_of_address(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    """The old address was told; if that was not its owner, changing (or resetting) the
    password stops the move."""
    change_email(client, "thief@example.com")
    link = last_link(smtp_server, "thief@example.com")

    change_password(client)

    assert confirm(client, link).status_code == 410
    assert repo(mail_app).find_user("ada").email == "ada@example.com"


def test_a_password_change_landing_during_a_change_of_address_stops_it_too(
    mail_app: Flask,
    client: FlaskClient,
    ada: AuthActions,
    smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The owner changes the password on another device while a stolen session (which knows
    the old password) asks for a new address: the change lands after this request checked
    the password and before it wrote. Before, the address waited on, its link worked, and
    the thief could take the account by a reset."""
    users = repo(mail_app)
    uid = users.find_user("ada").id
    address_free = users.email_available

    def owner_changes_password_meanwhile(address: str, owner: str) -> bool:
        users.set_password(uid, "$argon2id$the-owners-new-hash")
        return address_free(address, owner)

    monkeypatch.setattr(users, "email_available", owner_changes_password_meanwhile)
    response = change_email(client, "thief@example.com")

    assert response.status_code == 302
    assert location(response) == "/login"
    assert users.find_user("ada").pending_email == ""
    assert not [r for r in smtp_server.received if r.rcpt_tos == ["thief@example.com"]]
    assert "Nothing was changed" in page(client.get("/login")).main_text


def test_asking_for_another_address_makes_the_first_link_stale(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    change_email(client, "first@example.com")
    first = last_link(smtp_server, "first@example.com")
    change_email(client, "second@example.com")

    assert confirm(client, first).status_code == 410
    confirm(client, last_link(smtp_server, "second@example.com"))
    assert repo(mail_app).find_user("ada").email == "second@example.com"


def test_a_change_can_be_cancelled(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, smtp_server: SMTPServer
) -> None:
    change_email(client, "other@example.com")
    link = last_link(smtp_server, "other@example.com")
    token = csrf_token(client, "/account")

    client.post("/account/email/cancel", data={"csrf_token": token})

    assert "is cancelled" in page(client.get("/account")).main_text
    assert confirm(client, link).status_code == 410
    assert repo(mail_app).find_user("ada").email == "ada@example.com"


# --- nobody keeps someone else's address ----------------------------------------------------


def test_an_unconfirmed_sign_up_holds_an_address_for_a_week_only(
    mail_app: Flask, smtp_server: SMTPServer, clock: Clock
) -> None:
    """mallory signs up with victor's address and never confirms it. victor cannot sign up
    with it at once (though "Forgot password?" would give him mallory's account), and after
    UNVERIFIED_HOLD a sign-up with it succeeds; mallory's link no longer confirms it."""
    mallory = AuthActions(mail_app.test_client())
    mallory.signup("mallory", email="victor@example.com")
    victor = AuthActions(mail_app.test_client())
    assert victor.signup("victor", email="victor@example.com").status_code == 400

    clock.advance(days=UNVERIFIED_HOLD.days - 1)
    token = csrf_token(mallory.client, "/profile")
    mallory.client.post("/account/email/resend", data={"csrf_token": token, "next": "/profile"})
    mallorys_link = last_link(smtp_server, "victor@example.com")
    assert victor.signup("victor", email="victor@example.com").status_code == 400
    clock.advance(days=2)
    assert victor.signup("victor", email="victor@example.com").status_code == 302

    users = repo(mail_app)
    assert users.find_user("victor@example.com").username == "victor"
    taken = confirm(mallory.client, mallorys_link)
    assert taken.status_code == 409
    assert "Another account uses victor@example.com now" in page(taken).main_text
    token = csrf_token(mallory.client, "/profile")
    mallory.client.post("/account/email/resend", data={"csrf_token": token, "next": "/profile"})
    assert (
        "Another account uses victor@example.com now"
        in page(mallory.client.get("/profile")).main_text
    )
    assert users.find_user("mallory").email_verified is False
    assert users.find_user("victor@example.com").username == "victor"


def test_a_confirmed_address_is_held_for_good(
    mail_app: Flask, client: FlaskClient, ada: AuthActions, clock: Clock
) -> None:
    clock.advance(days=365)
    assert (
        AuthActions(mail_app.test_client()).signup("eve", email="ada@example.com").status_code
        == 400
    )


def test_deleting_an_account_leaves_a_claim_it_lost_to_another_alone(
    mail_app: Flask, smtp_server: SMTPServer, clock: Clock
) -> None:
    mallory = AuthActions(mail_app.test_client())
    mallory.signup("mallory", email="victor@example.com")
    clock.advance(days=UNVERIFIED_HOLD.days + 1)
    AuthActions(mail_app.test_client()).signup("victor", email="victor@example.com")

    token = csrf_token(mallory.client, "/account")
    mallory.client.post(
        "/account/delete",
        data={"delete_password": PASSWORD, "confirm_username": "mallory", "csrf_token": token},
    )

    assert repo(mail_app).find_user("mallory") is None
    assert repo(mail_app).find_user("victor@example.com").username == "victor"


def test_an_expired_confirm_page_says_error_once(
    mail_app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.signup("ada")
    link = last_link(smtp_server, "ada@example.com")
    refused = client.post(link, data={"csrf_token": "stale"})
    assert refused.status_code == 400
    (title,) = page(refused).all("title")
    assert title.text.count("Error:") == 1, title.text
    assert repo(mail_app).find_user("ada").email_verified is False
