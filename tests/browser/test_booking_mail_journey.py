"""Booking mail in the browser: leo books tess's session, each finds a mail with an invite in
the instance's outbox (where mail goes with no MAIL_SERVER, as with `make run`); tess follows
the unsubscribe link in hers without logging in, confirms on the page it opens, then turns
that mail back on from /account. axe checks the pages on the way, at both widths."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveApp, login, screenshot
from tests.browser.test_accessibility import check_both_widths, report
from tests.support.smtp import outbox_mails, text_of
from tests.web.test_bookings import person, publish


def confirm_address(live_app: LiveApp, username: str) -> None:
    user = live_app.repo.find_user(username)
    live_app.repo.change_user(user.id, lambda data: {**data, "email_verified": True})


def test_booking_mail_then_unsubscribe_in_one_click_and_back_on(
    live_app: LiveApp, page: Page
) -> None:
    publish(person(live_app.app, "tess", "America/New_York"))
    person(live_app.app, "leo", "Europe/Berlin")
    for name in ("tess", "leo"):
        confirm_address(live_app, name)
    outbox = Path(live_app.app.config["MAIL_OUTBOX"])
    signups = {m["Message-ID"] for m in outbox_mails(outbox)}  # their confirmation links

    login(page, live_app.url, "leo")
    page.goto(f"{live_app.url}/book/tess")
    with page.expect_navigation():
        page.get_by_role("button", name="Book Session").click()
    expect(page.get_by_role("status")).to_contain_text("Booked: Python with tess")

    mails = {str(m["To"]): m for m in outbox_mails(outbox) if m["Message-ID"] not in signups}
    assert set(mails) == {"tess <tess@example.com>", "leo <leo@example.com>"}
    for mail in mails.values():
        assert any(p.get_content_type() == "text/calendar" for p in mail.walk())
    hers = mails["tess <tess@example.com>"]
    assert "Tue 1 Dec 2026, 09:00–10:00 (America/New_York)" in text_of(hers)
    link = str(hers["List-Unsubscribe"]).strip("<>")
    assert link.startswith(f"{live_app.url}/unsubscribe/")

    # On her phone, not logged in: the page asks first (mail scanners open links too).
    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    problems = check_both_widths(page, "/unsubscribe/<token>")
    with page.expect_navigation():
        page.get_by_role("button", name="Stop these mails").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    expect(page.get_by_role("status")).to_contain_text("tess@example.com")
    problems += check_both_widths(page, "/unsubscribe/<token> done")
    screenshot(page, "unsubscribed")

    login(page, live_app.url, "tess")
    page.goto(f"{live_app.url}/account#mail")
    bookings = page.get_by_label("Sessions booked or moved, with a calendar invite")
    expect(bookings).not_to_be_checked()
    expect(
        page.get_by_label("Reminders before a session, and to rate it afterwards")
    ).to_be_checked()
    bookings.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save mail settings").click()
    expect(page.get_by_role("status")).to_contain_text("Your mail settings are saved.")
    # Shown in the part the page opens at, not at its top, scrolled out of sight.
    expect(page.get_by_role("status")).to_be_in_viewport()
    expect(page.get_by_label("Sessions booked or moved, with a calendar invite")).to_be_checked()
    assert live_app.repo.find_user("tess").mail_off == []
    if problems:
        raise AssertionError(report(problems))
