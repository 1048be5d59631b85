"""One address, one account, whatever form it is typed in: Unicode letters composed or not
("zoë" as one code point or as "e" and a combining diaeresis), a domain in Unicode or in its
ASCII (IDNA) form, in capitals or not. Every form reaches the same account, at sign-up, log-in,
"Forgot password?" and a change of address; failed logins count against it in any form; its
mail goes to the domain's ASCII form, so any mail server takes it; and `flask migrate` brings
accounts stored in another form by earlier versions to the one form.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.repo.keys import legacy_email_key, user_key
from tests.support.app_fixtures import AuthActions, csrf_token
from tests.support.smtp import SMTPServer
from tests.web.test_auth import assert_field_error, page, repo, store
from tests.web.test_email_ownership import change_email
from tests.web.test_login_throttle import WRONG, attempt, browser

ZOE = "zo\u00eb@example.com"  # "ë" as one code point (NFC)
ZOE_DECOMPOSED = "zoe\u0308@example.com"  # "e" + combining diaeresis (NFD)
ANN = "ann@b\u00fccher.de"
ANN_ASCII = "ANN@xn--bcher-kva.de"  # the same address: IDNA form of the domain, capitals
TAKEN = "An account with this email exists already; log in instead"


@pytest.fixture
def client(mail_app: Flask) -> FlaskClient:
    return mail_app.test_client()


@pytest.mark.parametrize(("first", "second"), [(ZOE, ZOE_DECOMPOSED), (ANN, ANN_ASCII)])
def test_one_address_in_another_form_is_the_same_account(
    mail_app: Flask, first: str, second: str
) -> None:
    assert AuthActions(mail_app.test_client()).signup("first", email=first).status_code == 302

    response = AuthActions(mail_app.test_client()).signup("second", email=second)

    assert response.status_code == 400
    assert_field_error(page(response), "email", TAKEN)
    assert page(response).value("email") == second  # what was typed, as typed
    assert repo(mail_app).find_user("second") is None


@pytest.mark.parametrize(("typed", "other"), [(ZOE, ZOE_DECOMPOSED), (ANN, ANN_ASCII)])
def test_every_form_of_the_address_logs_in(mail_app: Flask, typed: str, other: str) -> None:
    AuthActions(mail_app.test_client()).signup("first", email=typed)
    for login in (typed, other, f"  {other.upper()} "):
        response = AuthActions(mail_app.test_client()).login(login)
        assert response.status_code == 302, login


def test_the_reset_mail_comes_for_any_form_and_goes_to_the_ascii_domain(
    mail_app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    AuthActions(client).signup("ann", email=ANN)
    # In IDNA, which every server takes: only those that offer SMTPUTF8 take it as typed.
    (confirmation,) = smtp_server.received
    assert confirmation.rcpt_tos == ["ann@xn--bcher-kva.de"]
    assert "ann@xn--bcher-kva.de" in str(confirmation.message["To"])
    smtp_server.received.clear()

    anonymous = mail_app.test_client()
    response = anonymous.post(
        "/forgot-password",
        data={"email": ANN_ASCII, "csrf_token": csrf_token(anonymous, "/forgot-password")},
    )

    assert response.status_code == 302
    assert [r.rcpt_tos for r in smtp_server.received] == [["ann@xn--bcher-kva.de"]]
    assert "Reset" in str(smtp_server.received[0].message["Subject"])


def test_a_change_of_address_to_another_form_of_mine_changes_nothing(
    mail_app: Flask, client: FlaskClient
) -> None:
    AuthActions(client).signup("zoe", email=ZOE)  # and logged in

    response = change_email(client, ZOE_DECOMPOSED)

    assert response.status_code == 400
    assert_field_error(page(response), "new_email", "That is your address already")


def test_a_change_to_another_accounts_address_in_another_form_is_refused(
    mail_app: Flask, client: FlaskClient
) -> None:
    AuthActions(mail_app.test_client()).signup("ann", email=ANN)
    AuthActions(client).signup("bob")

    response = change_email(client, ANN_ASCII)

    assert response.status_code == 400
    assert_field_error(page(response), "new_email", "An account with this email exists already")


def test_failed_logins_count_against_the_account_in_every_form(limited: Flask) -> None:
    assert AuthActions(browser(limited)).signup("zoe", email=ZOE).status_code == 302
    # Otherwise each form would be a fresh count of three guesses at the same password.
    for login in (ZOE, ZOE_DECOMPOSED, ZOE.upper()):
        assert attempt(browser(limited), login).status_code == 401
    assert attempt(browser(limited), ZOE_DECOMPOSED, WRONG).status_code == 429


def test_migrate_brings_an_address_stored_in_another_form_to_the_one_form(
    mail_app: Flask,
) -> None:
    AuthActions(mail_app.test_client()).signup("zoe", email=ZOE)
    user = repo(mail_app).find_user("zoe")
    # As an earlier version stored a decomposed address: lower-cased, nothing else.
    kv = store(mail_app)
    record = kv.get(user_key(user.id))
    claim = kv.get(legacy_email_key(ZOE))
    kv.delete(legacy_email_key(ZOE))
    kv.put(legacy_email_key(ZOE_DECOMPOSED), claim)
    kv.put(user_key(user.id), record | {"email": ZOE_DECOMPOSED})

    result = mail_app.test_cli_runner().invoke(args=["migrate"])

    assert result.exit_code == 0, result.output
    assert "1 address brought to one form" in result.output
    assert kv.get(user_key(user.id))["email"] == ZOE
    assert kv.get(legacy_email_key(ZOE))["uid"] == user.id
    assert kv.get(legacy_email_key(ZOE_DECOMPOSED)) is None
    assert AuthActions(mail_app.test_client()).login(ZOE_DECOMPOSED).status_code == 302
    again = mail_app.test_cli_runner().invoke(args=["migrate"])
    assert "0 addresses brought to one form" in again.output
