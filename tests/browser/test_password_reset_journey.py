"""Forgot password, in the browser: ask on the login page, read the mail from the instance's
outbox (where mail goes with no MAIL_SERVER, as with `make run`), choose a new password with
the link, and log in with it."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, LiveApp, assert_fits_width, login, screenshot
from tests.support.smtp import link_in, outbox_mails, text_of

NEW_PASSWORD = "Zq7!a-new-pass-phrase"


def test_forgot_password_then_log_in_with_the_new_one(live_app: LiveApp, page: Page) -> None:
    live_app.add_user("ada", email="ada@example.com", timezone="Europe/Berlin")
    outbox = Path(live_app.app.config["MAIL_OUTBOX"])

    page.goto(f"{live_app.url}/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    page.get_by_label("Email", exact=True).fill("ada@example.com")
    with page.expect_navigation():
        page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your mail")

    (mail,) = outbox_mails(outbox)
    assert mail["Subject"] == "Reset your SkillSwap password"
    assert "(Europe/Berlin)" in text_of(mail)
    link = link_in(mail, "/reset-password/")
    assert link.startswith(f"{live_app.url}/reset-password/")

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again", exact=True).fill(NEW_PASSWORD)
    assert_fits_width(page)
    screenshot(page, "reset-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Set my new password").click()
    expect(page).to_have_url(f"{live_app.url}/login")
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")

    login(page, live_app.url, "ada", password=PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Invalid username or password")
    login(page, live_app.url, "ada@example.com", password=NEW_PASSWORD)
    expect(page).to_have_url(f"{live_app.url}/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("ada")
