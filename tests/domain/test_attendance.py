"""Did it happen: the marks after a session, when a session counts as held, the rating a
no-show report rules out, the per-week reliability counters and their 90-day window, and the
reliability tie-break in ranking. Pure: no Flask, no store."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from skillswap.domain import archive, limits
from skillswap.domain.attendance import (
    CONFIRM_AFTER,
    DISPUTED,
    HAPPENED,
    HELD,
    I_MISSED,
    MARK_WINDOW,
    MISSED,
    THEY_MISSED,
    UNCONFIRMED,
    count_week,
    in_window,
    outcome,
)
from skillswap.domain.limits import LATE_WINDOW, MAX_LATE_WEEKS
from skillswap.domain.matching import Match, rank_matches
from skillswap.domain.records import Booking, Notification, Reliability, Stats
from skillswap.domain.refusals import AttendanceRefused, NotParticipant, ReviewRefused
from skillswap.domain.schedule import Schedule
from skillswap.domain.teacher_rules import week_of
from skillswap.domain.times import iso_utc
from skillswap.domain.users import User
from tests.domain.test_schedule import LEARNER, NOW, OUTSIDER, TEACHER, at, booked_pair

END = at(10)  # booked_pair(9, 10): the session ends at 10:00 on DAY


def pair() -> tuple[Schedule, Schedule, Booking]:
    return booked_pair(9, 10)


def mark(s: Schedule, b: Booking, by: str, what: str, when: datetime = END) -> Booking:
    return s.mark_attendance(b.id, by, what, when)


# --- counts as held ----------------------------------------------------------------------


def test_an_unconfirmed_session_counts_only_after_seven_days() -> None:
    """Fails on the code before issue 21: an ended session counted at once."""
    teacher, learner, b = pair()
    assert teacher.stats(END).taught == 0
    assert learner.stats(END + CONFIRM_AFTER - timedelta(seconds=1)).attended == 0
    assert outcome(b, END + timedelta(days=1)) == UNCONFIRMED
    assert outcome(b, END + CONFIRM_AFTER) == HELD
    assert teacher.stats(END + CONFIRM_AFTER).taught == 1
    assert learner.stats(END + CONFIRM_AFTER).attended == 1


def test_one_confirmation_and_no_report_counts_at_once() -> None:
    teacher, learner, b = pair()
    mark(learner, b, LEARNER, HAPPENED)
    teacher.take_mark(b.id, LEARNER, learner.bookings[b.id].attendance[LEARNER])
    assert outcome(teacher.bookings[b.id], END) == HELD
    assert teacher.stats(END).taught == 1 and learner.stats(END).attended == 1


def test_disagreement_is_disputed_and_counts_for_neither_ever() -> None:
    teacher, _, b = pair()
    mark(teacher, b, TEACHER, HAPPENED)
    mark(teacher, b, LEARNER, THEY_MISSED)  # the learner says the teacher never came
    later = END + CONFIRM_AFTER * 10
    assert outcome(teacher.bookings[b.id], later) == DISPUTED
    assert teacher.stats(later).taught == 0
    assert teacher.reliability_record(later).no_shows == 0  # disputed: against nobody


def test_each_blaming_the_other_is_disputed_too() -> None:
    teacher, _, b = pair()
    mark(teacher, b, TEACHER, THEY_MISSED)
    mark(teacher, b, LEARNER, THEY_MISSED)
    assert outcome(teacher.bookings[b.id], END) == DISPUTED


def test_a_no_show_report_counts_against_the_absent_person_unless_contradicted() -> None:
    teacher, _, b = pair()
    mark(teacher, b, TEACHER, THEY_MISSED)  # the learner did not come
    assert outcome(teacher.bookings[b.id], END + CONFIRM_AFTER) == MISSED
    assert teacher.stats(END + CONFIRM_AFTER).taught == 0
    assert teacher.reliability_record(END).no_shows == 0  # against the learner, not me
    mark(teacher, b, LEARNER, I_MISSED)  # the learner agrees
    assert outcome(teacher.bookings[b.id], END) == MISSED
    mark(teacher, b, LEARNER, HAPPENED, END + timedelta(hours=1))  # ...then changes their mind
    assert outcome(teacher.bookings[b.id], END) == DISPUTED


def test_i_missed_it_counts_against_myself() -> None:
    _, learner, b = pair()
    mark(learner, b, LEARNER, I_MISSED)
    assert learner.reliability_record(END).no_shows == 1
    assert learner.stats(END + CONFIRM_AFTER).attended == 0


# --- marking -----------------------------------------------------------------------------


def test_marking_is_refused_before_the_end_after_the_window_and_for_outsiders() -> None:
    teacher, _, b = pair()
    with pytest.raises(AttendanceRefused, match="once it has ended"):
        mark(teacher, b, TEACHER, HAPPENED, END - timedelta(minutes=1))
    with pytest.raises(AttendanceRefused, match="14 days"):
        mark(teacher, b, TEACHER, HAPPENED, END + MARK_WINDOW)
    with pytest.raises(NotParticipant):
        mark(teacher, b, OUTSIDER, HAPPENED)
    with pytest.raises(NotParticipant):
        teacher.mark_attendance("unknown", TEACHER, HAPPENED, END)
    with pytest.raises(AttendanceRefused, match="Choose"):
        mark(teacher, b, TEACHER, "maybe")
    assert teacher.bookings[b.id].attendance == {}


def test_an_answer_to_a_late_report_opens_no_window_of_its_own() -> None:
    """A report in the last minute gets a week's answer; a counter-report in that week is an
    answer, not a new report to be answered, or the two could go on taking turns forever."""
    teacher, _, b = pair()  # both marks on the teacher's copy, as copying leaves them
    late = END + MARK_WINDOW - timedelta(hours=1)
    mark(teacher, b, TEACHER, THEY_MISSED, late)  # the learner did not come, says the teacher
    answer = late + timedelta(days=6)
    mark(teacher, b, LEARNER, THEY_MISSED, answer)  # no: the teacher did not, says the learner
    with pytest.raises(AttendanceRefused, match="14 days"):
        mark(teacher, b, TEACHER, HAPPENED, answer + timedelta(days=1))
    assert outcome(teacher.bookings[b.id], answer + timedelta(days=30)) == DISPUTED


def test_a_cancelled_session_cannot_be_marked() -> None:
    teacher, _, b = pair()
    teacher.cancel(b.id, TEACHER, "", NOW)
    with pytest.raises(AttendanceRefused, match="cancelled"):
        mark(teacher, b, TEACHER, HAPPENED)


def test_marking_twice_keeps_one_mark_and_changing_it_counts_up() -> None:
    teacher, _, b = pair()
    first = dict(mark(teacher, b, TEACHER, HAPPENED).attendance[TEACHER])
    assert mark(teacher, b, TEACHER, HAPPENED).attendance[TEACHER] == first  # nothing changed
    changed = mark(teacher, b, TEACHER, THEY_MISSED, END + timedelta(hours=2))
    assert changed.attendance[TEACHER]["mark"] == THEY_MISSED
    assert changed.attendance[TEACHER]["n"] == first["n"] + 1


def test_a_copy_takes_only_newer_marks() -> None:
    teacher, learner, b = pair()
    mark(learner, b, LEARNER, HAPPENED)
    old = dict(learner.bookings[b.id].attendance[LEARNER])
    mark(learner, b, LEARNER, I_MISSED, END + timedelta(hours=1))
    new = dict(learner.bookings[b.id].attendance[LEARNER])
    assert teacher.take_mark(b.id, LEARNER, new)
    assert not teacher.take_mark(b.id, LEARNER, old)  # a late copy of the older mark
    assert teacher.bookings[b.id].attendance[LEARNER]["mark"] == I_MISSED
    assert not teacher.take_mark("unknown", LEARNER, new)


# --- ratings -----------------------------------------------------------------------------


def test_a_rater_who_reported_a_no_show_cannot_rate() -> None:
    teacher, _, b = pair()
    mark(teacher, b, TEACHER, THEY_MISSED)
    with pytest.raises(ReviewRefused, match="did not take place"):
        teacher.add_review(b.id, TEACHER, 3, "", END)
    teacher.add_review(b.id, LEARNER, 8, "", END)  # the other person still may
    mark(teacher, b, TEACHER, HAPPENED, END + timedelta(hours=1))
    teacher.add_review(b.id, TEACHER, 9, "", END + timedelta(hours=1))


def test_after_rating_a_no_show_report_is_refused() -> None:
    teacher, _, b = pair()
    teacher.add_review(b.id, TEACHER, 9, "", END)
    with pytest.raises(AttendanceRefused, match="rated"):
        mark(teacher, b, TEACHER, I_MISSED)
    mark(teacher, b, TEACHER, HAPPENED)  # confirming is still fine


# --- per-week counters and the 90-day window ---------------------------------------------


def test_week_counters_are_bounded_and_drop_weeks_outside_ninety_days() -> None:
    counts: dict[str, dict[str, int]] = {}
    moment = NOW
    for _ in range(40):  # 40 weeks, one invitation a week
        counts = count_week(counts, week_of(moment), "invitations", 1, moment)
        moment += timedelta(days=7)
    last = moment - timedelta(days=7)
    assert len(counts) <= MAX_LATE_WEEKS
    assert min(counts) >= week_of(last - LATE_WINDOW)
    assert in_window(counts, "invitations", last) == len(counts)
    # 90 days later nothing of it is left in the window.
    assert in_window(counts, "invitations", last + LATE_WINDOW + timedelta(days=7)) == 0


def test_reliability_record_over_the_last_ninety_days() -> None:
    teacher, _, b = pair()
    mark(teacher, b, TEACHER, HAPPENED)
    teacher.count_late("cancel", END)
    record = teacher.reliability_record(END)
    assert (record.held, record.late_cancels, record.no_shows) == (1, 1, 0)
    far = END + LATE_WINDOW + timedelta(days=8)
    assert teacher.reliability_record(far) == Reliability(0, 0, 0, 0, 0)


def test_figures_for_a_page_are_rankings_figures_without_the_record() -> None:
    teacher, _, b = pair()
    mark(teacher, b, TEACHER, HAPPENED)
    teacher.count_late("cancel", END)
    ranked, shown = teacher.stats(END), teacher.stats(END, ranking=False)
    assert ranked.reliability == teacher.reliability_record(END, invitations=False)
    assert (shown.taught, shown.attended, shown.rating_count, shown.rating_average) == (
        ranked.taught,
        ranked.attended,
        ranked.rating_count,
        ranked.rating_average,
    )
    assert shown.reliability == Reliability()  # not worked out: no page shows it


def test_archiving_keeps_held_sessions_in_the_counters_and_the_window() -> None:
    teacher, _, b = pair()
    mark(teacher, b, TEACHER, THEY_MISSED)  # a no-show of the learner: not held
    _, _, kept = booked_pair(11, 12)
    teacher.bookings[kept.id] = Booking.from_dict(kept.to_dict())  # unconfirmed: held later
    teacher.bookings[kept.id].status = "confirmed"
    later = END + timedelta(days=40)
    before = teacher.reliability_record(later), teacher.stats(later)
    batch = archive.begin(teacher, archive.batch_of(archive.plan(teacher, later, len, 10**6), "p"))
    archived = archive.batch_records(teacher, batch, later)
    archive.finish(teacher, batch, later)
    assert not teacher.bookings
    assert (teacher.reliability_record(later), teacher.stats(later)) == before
    assert before[0].held == 1 and before[1].taught == 1
    sessions = [r for key, r in archived.items() if "/bookings/" in key]
    assert teacher.counters == archive.counters_of(TEACHER, sessions)


# --- invitations -------------------------------------------------------------------------


def invitation(created: datetime, actor: str = "tess", skill: str = "Python") -> Notification:
    return Notification(
        id=f"n-{created.isoformat()}-{actor}", kind="invited", actor=actor, skill=skill,
        created=iso_utc(created),
    )  # fmt: skip


def test_invitations_answered_within_seven_days_by_booking_or_declining() -> None:
    learner = Schedule(LEARNER)
    for n in (invitation(NOW), invitation(NOW, "olga", "Welsh"), invitation(NOW, "xia")):
        learner.receive_invitation(n, NOW)
    assert learner.answer_invitations("tess", " python ", NOW + timedelta(days=2)) == 1
    learner.decline_invitation("n-" + NOW.isoformat() + "-olga", NOW + timedelta(days=3))
    # One answered by booking, one declined in time, one still open: not yet counted.
    record = learner.reliability_record(NOW + timedelta(days=3))
    assert (record.invitations, record.answered) == (2, 2)
    # After 7 days the open one counts as unanswered; declining late does not answer it.
    learner.decline_invitation("n-" + NOW.isoformat() + "-xia", NOW + timedelta(days=8))
    record = learner.reliability_record(NOW + timedelta(days=8))
    assert (record.invitations, record.answered) == (3, 2)
    with pytest.raises(AttendanceRefused, match="already"):
        learner.decline_invitation("n-" + NOW.isoformat() + "-xia", NOW + timedelta(days=8))
    with pytest.raises(NotParticipant):
        learner.decline_invitation("nothing", NOW)


def push_out(learner: Schedule, when: datetime) -> None:
    """As many ordinary notices at `when` as are kept: everything older leaves."""
    for i in range(limits.MAX_NOTIFICATIONS):
        notice = Notification(
            id=f"{when}-{i}", kind="booked", actor="fan", skill="Go", created=iso_utc(when)
        )
        learner.notify(notice)


def test_an_invitation_pushed_out_of_the_kept_notifications_while_open_stops_counting() -> None:
    """Found by probing: 50 ordinary notices pushed an open invitation out; it could no longer
    be booked from or declined, yet it counted as unanswered (and a second invitation from
    the same teacher counted twice)."""
    learner = Schedule(LEARNER)
    learner.receive_invitation(invitation(NOW), NOW)
    learner.receive_invitation(invitation(NOW, "olga"), NOW)
    learner.decline_invitation("n-" + NOW.isoformat() + "-olga", NOW)
    push_out(learner, NOW + timedelta(days=1))
    assert [n for n in learner.notifications if n.kind == "invited"] == []
    later = NOW + timedelta(days=9)
    record = learner.reliability_record(later)
    assert (record.invitations, record.answered) == (1, 1), "olga's, answered; tess's forgotten"
    # Left open for its whole 7 days before it was pushed out: it still counts.
    learner.receive_invitation(invitation(later, "xia"), later)
    push_out(learner, later + timedelta(days=8))
    record = learner.reliability_record(later + timedelta(days=8))
    assert (record.invitations, record.answered) == (2, 1)


# --- ranking -----------------------------------------------------------------------------


def _match(name: str, rating: float, record: Reliability) -> Match:
    from tests.domain.test_schedule import offer, slot

    o = offer("o", slot(9, 10))
    user = User(id=name, username=name, email=f"{name}@x.org", password_hash="", created="")
    stats = Stats(1, 0, 1, rating, record)
    return Match(user, stats, [(o, o.slots[0].as_slot())])


def test_ranking_prefers_the_reliable_teacher_after_time_and_rating() -> None:
    unreliable = _match("aaa", 8.0, Reliability(3, 1, 1, 0, 0))
    reliable = _match("zzz", 8.0, Reliability(3, 0, 0, 0, 0))
    better_rated = _match("mmm", 9.0, Reliability(0, 4, 4, 0, 0))
    assert [m.user.username for m in rank_matches([unreliable, reliable, better_rated])] == [
        "mmm",
        "zzz",
        "aaa",
    ]
    more_held = _match("bbb", 8.0, Reliability(5, 0, 0, 0, 0))
    assert rank_matches([reliable, more_held])[0] is more_held
