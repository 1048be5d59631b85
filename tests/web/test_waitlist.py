"""Waitlists through the test client (issue 21): joining from a request's matches, the caps,
joining twice, leaving, the hold a cancel gives the first in line (notice and mail), the holder
booking it, others refused, and an expired hold passing on (by a page read, or the sender).

Tess teaches Python from New York on Tue 1 Dec 2026, 09:00-11:00 local in one-hour sessions
(14:00 and 15:00 UTC); bo and cy have booked both. Ann, then dan, ask for Python that
afternoon (UTC) and find everything taken.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap import services
from skillswap.domain import limits
from skillswap.domain.waitlist import HELD
from tests.support.app_fixtures import Clock, csrf_token
from tests.support.faulty_store import worker_dies
from tests.support.smtp import SMTPServer, text_of
from tests.web.booking_mail.conftest import confirm_address
from tests.web.test_account import delete_account
from tests.web.test_bookings import (
    book,
    booked_id,
    cancel,
    free_slots,
    location,
    person,
    publish,
    schedule,
    text,
    uid,
)
from tests.web.test_reschedule import move

REQUEST = {
    "skill": "Python",
    "mode": "either",
    "dates-0": "2026-12-01",
    "ranges-0-start": "13:00",
    "ranges-0-end": "18:00",
}
FIRST = "2026-12-01T14:00:00Z"


def ask(client: FlaskClient, skill: str = "Python", day: str = "2026-12-01") -> str:
    """Save the request; its id (from the matches page it leads to)."""
    wanted = REQUEST | {"skill": skill, "dates-0": day}
    response = client.post("/request", data={"csrf_token": csrf_token(client, "/request")} | wanted)
    assert response.status_code == 302, text(response)[-2000:]
    return location(response).rsplit("/", 1)[1]


def join(client: FlaskClient, request_id: str, teacher: str = "tess"):
    token = csrf_token(client, f"/request/{request_id}")
    return client.post(
        "/waitlist/join", data={"csrf_token": token, "request_id": request_id, "teacher": teacher}
    )


def leave(app: Flask, client: FlaskClient, teacher: str = "tess"):
    return client.post(
        "/waitlist/leave",
        data={
            "csrf_token": csrf_token(client, "/logout"),
            "teacher": uid(app, teacher),
            "skill": "python",
        },
    )


@pytest.fixture
def people(mail_app: Flask) -> dict[str, FlaskClient]:
    tess = person(mail_app, "tess", "America/New_York")
    publish(tess)
    found = {"tess": tess}
    for name in ("bob", "cyd", "ann", "dan", "eve"):
        found[name] = person(mail_app, name, "UTC")
        confirm_address(mail_app, name)
    first, second = free_slots(found["bob"], "tess")
    found["bo_booking"] = booked_id(book(found["bob"], "tess", first))  # type: ignore[assignment]
    found["cyd_booking"] = booked_id(book(found["cyd"], "tess", second))  # type: ignore[assignment]
    return found


def ann_and_dan_wait_and_bob_cancels(
    people: dict[str, FlaskClient], before_cancel: Callable[[], None] = lambda: None
) -> None:
    """The line most tests start from: ann, then dan, wait for tess; bob cancels the session
    that held the slot they want, so it is held for ann."""
    join(people["ann"], ask(people["ann"]))
    join(people["dan"], ask(people["dan"]))
    before_cancel()
    response = cancel(people["bob"], people["bo_booking"])  # type: ignore[arg-type]
    assert response.status_code == 302


def test_a_teacher_with_everything_taken_offers_a_waitlist_and_joining_twice_is_a_no_op(
    mail_app: Flask, people: dict[str, FlaskClient]
) -> None:
    ann = people["ann"]
    request_id = ask(ann)
    page = text(ann.get(f"/request/{request_id}"))
    assert "All taken in your window" in page and "Join waitlist of tess" in page
    response = join(ann, request_id)
    assert response.status_code == 302
    assert "You are on tess's waitlist for Python." in text(ann.get(location(response)))
    assert "You are on tess's waitlist" in text(ann.get(f"/request/{request_id}"))
    again = join(ann, request_id)
    assert "already" in text(ann.get(location(again)))
    assert len(schedule(mail_app, "tess").waitlist) == 1
    assert len(schedule(mail_app, "ann").waiting) == 1
    # The teacher sees how many wait, not who.
    dashboard = text(people["tess"].get("/dashboard"))
    assert "1 person is on your waitlist for Python." in dashboard
    assert "ann" not in dashboard


def test_a_full_waitlist_and_the_learner_cap_say_so(
    mail_app: Flask, people: dict[str, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_WAITING_PER_SKILL", 1)
    join(people["ann"], ask(people["ann"]))
    response = join(people["dan"], ask(people["dan"]))
    assert response.status_code == 409
    assert "This teacher's waitlist for Python is full (1 people are waiting)" in text(response)
    assert schedule(mail_app, "dan").waiting == [], "the learner's note was taken back"

    monkeypatch.setattr(limits, "MAX_WAITING_PER_SKILL", 20)
    monkeypatch.setattr(limits, "MAX_WAITLISTS_PER_LEARNER", 1)
    other = person(mail_app, "otto", "UTC")
    publish(other, start="09:00", end="11:00")
    response = join(people["ann"], ask(people["ann"]), "otto")
    assert response.status_code == 409
    assert "You are on 1 waitlist, the most SkillSwap keeps at once (1)" in text(response)
    assert [w.learner for w in schedule(mail_app, "otto").waitlist] == []


def test_a_cancel_holds_the_slot_for_the_first_in_line_who_books_it_others_are_refused(
    mail_app: Flask, people: dict[str, FlaskClient], smtp_server: SMTPServer
) -> None:
    ann, dan, eve = people["ann"], people["dan"], people["eve"]
    repo = mail_app.extensions["skillswap.repo"]
    tess_id = repo.find_user("tess").id
    repo.change_user(tess_id, lambda data: {**data, "display_name": "Tess Ortiz"})
    ann_and_dan_wait_and_bob_cancels(people, before_cancel=smtp_server.received.clear)

    # Ann is told in the app at once...
    notices = text(ann.get("/notifications"))
    assert "A time opened up on tess 's waitlist for Python" in notices
    assert "Tue 1 Dec 2026, 14:00–15:00 (UTC) is held for you until Mon 23 Nov 2026, 14:00" in (
        notices
    )
    # ...and by mail when the sender runs.
    assert mail_app.test_cli_runner().invoke(args=["send-due-mail"]).exit_code == 0
    [mail] = [r.message for r in smtp_server.received if r.rcpt_tos == ["ann@example.com"]]
    assert "held for you" in str(mail["Subject"])
    # Named as every other mail names people: by their display name, not the username.
    assert "A time with Tess Ortiz is held for you" in str(mail["Subject"])
    assert "/book/tess?skill=python&slot=" in text_of(mail)

    # Ann sees it held for her; nobody else sees it at all.
    assert "held for you until" in text(ann.get("/book/tess?skill=python"))
    assert "is held for you until" in text(ann.get("/dashboard"))
    slot = free_slots(ann, "tess")[0]
    assert free_slots(eve, "tess") == [] and free_slots(dan, "tess") == []
    refused = book(eve, "tess", slot)
    assert refused.status_code == 409 and HELD in text(refused)
    assert book(dan, "tess", slot).status_code == 409
    assert "Book it" in text(ann.get("/notifications"))
    booked_id(book(ann, "tess", slot))
    # The notice no longer offers to book what she booked (it did, an outside probe).
    notices = text(ann.get("/notifications"))
    assert "Book it" not in notices and "Booked" in notices
    # Her wait is over; dan still waits.
    assert schedule(mail_app, "tess").holds == []
    assert [w.name for w in schedule(mail_app, "tess").waitlist] == ["dan"]
    assert schedule(mail_app, "ann").waiting == []


def test_an_expired_hold_passes_on_when_a_page_reads_the_teacher(
    mail_app: Flask, people: dict[str, FlaskClient], clock: Clock
) -> None:
    ann, dan, eve = people["ann"], people["dan"], people["eve"]
    ann_and_dan_wait_and_bob_cancels(people)
    clock.advance(hours=2)
    # Eve's page reads tess's document: the hold passes to dan, who is told.
    assert free_slots(eve, "tess") == []
    [hold] = schedule(mail_app, "tess").holds
    assert (hold.name, hold.passed) == ("dan", [uid(mail_app, "ann")])
    assert "held for you until" in text(dan.get("/notifications"))
    notices = text(ann.get("/notifications"))
    assert "Hold ended" in notices and "Book it" not in notices
    slot = free_slots(dan, "tess")[0]
    assert book(ann, "tess", slot).status_code == 409
    clock.advance(hours=2)
    # Dan let it go too: now it is everyone's.
    booked_id(book(eve, "tess", slot))


def test_an_expired_hold_passes_on_through_the_sender_when_nobody_reads(
    mail_app: Flask, people: dict[str, FlaskClient], clock: Clock, smtp_server: SMTPServer
) -> None:
    ann_and_dan_wait_and_bob_cancels(people)
    clock.advance(hours=2, minutes=1)
    smtp_server.received.clear()
    assert mail_app.test_cli_runner().invoke(args=["send-due-mail"]).exit_code == 0
    [hold] = schedule(mail_app, "tess").holds
    assert hold.name == "dan" and hold.announced
    assert mail_app.test_cli_runner().invoke(args=["send-due-mail"]).exit_code == 0
    to_dan = [r.message for r in smtp_server.received if r.rcpt_tos == ["dan@example.com"]]
    assert len(to_dan) == 1 and "held for you" in str(to_dan[0]["Subject"])


def test_leaving_is_one_click_and_a_held_slot_passes_on(
    mail_app: Flask, people: dict[str, FlaskClient]
) -> None:
    ann, dan = people["ann"], people["dan"]
    ann_and_dan_wait_and_bob_cancels(people)
    response = leave(mail_app, ann)
    assert response.status_code == 302
    assert "You left tess's waitlist for Python." in text(ann.get(location(response)))
    assert schedule(mail_app, "ann").waiting == []
    [hold] = schedule(mail_app, "tess").holds
    assert hold.name == "dan"
    assert "held for you until" in text(dan.get("/notifications"))


def test_the_waitlist_buttons_need_a_csrf_token(people: dict[str, FlaskClient]) -> None:
    ann = people["ann"]
    request_id = ask(ann)
    response = ann.post("/waitlist/join", data={"request_id": request_id, "teacher": "tess"})
    assert response.status_code == 400
    assert ann.post("/waitlist/leave", data={"teacher": "x", "skill": "python"}).status_code == 400


def test_an_entry_ends_with_its_window(
    mail_app: Flask, people: dict[str, FlaskClient], clock: Clock
) -> None:
    ann = people["ann"]
    join(ann, ask(ann))
    clock.set(clock.now.replace(year=2026, month=12, day=1, hour=18, minute=1) + timedelta(0))
    assert "My waitlists" not in text(ann.get("/dashboard"))
    assert re.search("on your waitlist", text(people["tess"].get("/dashboard"))) is None


def test_a_new_offer_holds_its_time_for_the_first_in_line(
    mail_app: Flask, people: dict[str, FlaskClient]
) -> None:
    ann = people["ann"]
    join(ann, ask(ann))
    publish(people["tess"], start="12:00", end="13:00", title="More Python")  # 17:00 UTC
    [hold] = schedule(mail_app, "tess").holds
    assert (hold.name, hold.start) == ("ann", "2026-12-01T17:00:00Z")
    assert "held for you until" in text(ann.get("/notifications"))
    assert free_slots(people["eve"], "tess") == []


def test_a_move_cannot_take_a_held_time_and_a_move_away_frees_one_for_the_next(
    mail_app: Flask, people: dict[str, FlaskClient]
) -> None:
    ann, cyd = people["ann"], people["cyd"]
    ann_and_dan_wait_and_bob_cancels(people)
    held = free_slots(ann, "tess")[0]  # 14:00 UTC, ann's
    refused = move(cyd, people["cyd_booking"], held)  # type: ignore[arg-type]
    assert refused.status_code == 409 and HELD in text(refused)
    # A time outside everyone's window: cyd moves there, freeing 15:00 for dan (ann holds
    # one of tess's times already).
    publish(people["tess"], start="20:00", end="21:00", title="Late Python")  # 01:00 UTC
    late = [s for s in free_slots(cyd, "tess") if s != held]
    assert move(cyd, people["cyd_booking"], late[0]).status_code == 302  # type: ignore[arg-type]
    holds = {h.name: h.start for h in schedule(mail_app, "tess").holds}
    assert holds == {"ann": FIRST, "dan": "2026-12-01T15:00:00Z"}


def test_a_deleted_account_leaves_its_waitlists_and_its_hold_passes_on(
    mail_app: Flask, people: dict[str, FlaskClient]
) -> None:
    ann, dan = people["ann"], people["dan"]
    ann_and_dan_wait_and_bob_cancels(people)
    assert delete_account(ann, confirm="ann").status_code == 302
    tess = schedule(mail_app, "tess")
    assert [w.name for w in tess.waitlist] == ["dan"]
    assert [h.name for h in tess.holds] == ["dan"]
    assert "held for you until" in text(dan.get("/notifications"))


def test_a_teacher_deleting_the_account_holds_nothing_for_the_line(
    mail_app: Flask, people: dict[str, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelling a deleted teacher's sessions freed their slots, and once offers stayed in
    the document until the indexes were done, those went to the waitlist: after a crash,
    the next read of tess's page told ann a time was held for her that nobody could book
    (an outside probe)."""
    ann = people["ann"]
    join(ann, ask(ann))
    the_repo = mail_app.extensions["skillswap.repo"]

    monkeypatch.setattr(the_repo, "index_offer", worker_dies)
    with mail_app.app_context(), pytest.raises(RuntimeError):
        services.accounts.delete_account(the_repo, the_repo.find_user("tess").id)
    monkeypatch.undo()

    assert people["eve"].get("/book/tess").status_code == 200  # a read before the rerun
    tess = schedule(mail_app, "tess")
    assert tess.holds == [] and tess.waitlist == []
    assert "Notifications Nothing yet." in text(ann.get("/notifications"))


def test_matching_shows_a_held_time_to_its_holder_only(
    mail_app: Flask, people: dict[str, FlaskClient]
) -> None:
    ann, dan = people["ann"], people["dan"]
    ann_request, dan_request = ask(ann), ask(dan)
    join(ann, ann_request)
    join(dan, dan_request)
    cancel(people["bob"], people["bo_booking"])  # type: ignore[arg-type]
    mine = text(ann.get(f"/request/{ann_request}"))
    assert "1 teacher free when you are" in mine and "All taken" not in mine
    theirs = text(dan.get(f"/request/{dan_request}"))
    assert "No teachers are free then yet" in theirs and "All taken in your window" in theirs


# --- found by probing the merged app as an outsider (each failed before its fix) -------------


def test_a_waitlist_of_a_teacher_with_no_time_for_the_request_cannot_be_joined(
    mail_app: Flask, people: dict[str, FlaskClient]
) -> None:
    """Otherwise anyone could fill a teacher's 100 places with made-up skills a year ahead,
    and a real learner would find the line full."""
    ann = people["ann"]
    nothing_taught = ask(ann, skill="Underwater basket weaving")
    response = join(ann, nothing_taught)
    assert response.status_code == 409
    assert "has no times for Underwater basket weaving in your request's window" in text(response)
    a_year_ahead = ask(ann, day="2027-11-20")
    assert join(ann, a_year_ahead).status_code == 409
    assert schedule(mail_app, "tess").waitlist == []
    assert schedule(mail_app, "ann").waiting == [], "the learner's note was taken back"


def test_leave_pressed_while_join_is_between_its_two_steps_leaves_the_person_in_neither_list(
    mail_app: Flask, people: dict[str, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Join writes the learner's note, then the teacher's line; a Leave run whole between the
    two (both requests in flight at once) used to leave ann in tess's line but off her own
    list: held slots she could not see, a Leave button she did not have, a cap that did not
    count it."""
    from skillswap import services
    from skillswap.repo import Repository

    ann = people["ann"]
    request_id = ask(ann)
    ann_id, tess_id = uid(mail_app, "ann"), uid(mail_app, "tess")
    original = Repository.change_schedule
    left: list[bool] = []

    def change_schedule(self: Repository, owner: str, change, **kwargs):  # type: ignore[no-untyped-def]
        result = original(self, owner, change, **kwargs)
        if owner == ann_id and not left and self.schedule(ann_id).waiting:
            left.append(services.waitlist.leave(self, ann_id, tess_id, "python"))
        return result

    monkeypatch.setattr(Repository, "change_schedule", change_schedule)
    join(ann, request_id)
    monkeypatch.setattr(Repository, "change_schedule", original)
    assert left == [True]
    in_line = [w.name for w in schedule(mail_app, "tess").waitlist]
    noted = [w.teacher_name for w in schedule(mail_app, "ann").waiting]
    assert (in_line, noted) == ([], []), "in both lists or in neither"


def test_a_slot_held_again_for_the_same_person_tells_them_again(
    mail_app: Flask, people: dict[str, FlaskClient], clock: Clock
) -> None:
    """Ann lets a hold lapse; later the same time is booked, cancelled and held for her
    again: a new notice (and unread count) says until when, not only the dashboard."""
    ann, eve = people["ann"], people["eve"]
    join(ann, ask(ann))
    cancel(people["bob"], people["bo_booking"])  # type: ignore[arg-type]
    clock.advance(hours=2, minutes=5)
    slot = free_slots(eve, "tess")[0]  # the hold lapsed and nobody else waits: everyone's
    eves = booked_id(book(eve, "tess", slot))
    ann.post("/notifications/read", data={"csrf_token": csrf_token(ann, "/notifications")})
    assert cancel(eve, eves).status_code == 302
    [hold] = schedule(mail_app, "tess").holds
    held = [n for n in schedule(mail_app, "ann").notifications if n.kind == "held"]
    assert len(held) == 2 and max(n.note for n in held) == hold.until
    assert mail_app.extensions["skillswap.repo"].get_user(uid(mail_app, "ann")).unread == 1
