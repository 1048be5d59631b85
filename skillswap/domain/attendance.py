"""Did it happen, and how reliable a person is. Pure: no Flask, no I/O; `now` is passed in.

After a session ends, each of its two people may mark it "happened", "the other person did
not come" or "I could not come" (until its review window closes, 14 days after it; a person
a no-show report names is told and may answer it for REPLY_WINDOW after the report, so at most
21 days after the session: nothing about an archived session can change). What the marks say
(`outcome`):

- no mark: unconfirmed; it counts as held once 7 days have passed since it ended;
- at least one "happened" and no no-show report: held, at once;
- a "happened" against a no-show report, or each blaming the other: disputed, counted for
  neither, ever (both see it as disputed);
- only no-show reports naming the same person: missed, a no-show against that person.

"Sessions taught/attended" count held sessions only (domain/reviews.py, domain/archive.py).
A person who reported a no-show cannot rate the session, and a person who rated it cannot
report a no-show afterwards, so a rating never sits beside its rater's "it did not happen".

The reliability record covers the last 90 days: sessions held, late cancellations
(domain/teacher_rules.py counts those), no-shows against the person, and the share of
invitations answered (booked with that teacher for that skill, or declined, within 7 days).
It reads only the live document: per-week counters (section `reliability`, at most
MAX_LATE_WEEKS weeks) hold what is final, the live window is counted when read, as the
taught/attended counters do (DESIGN.md "Stats are counters covering the archives"):

- a session's outcome is final only after its marks close and its 7 days have run, which no
  write marks, so a session adds to the counters when it leaves the live document for the
  archive (domain/archive.py `finish`, the same atomic step), and is counted from the live
  document until then;
- an invitation adds to `invitations` in the atomic step that sends it, and to `answered` in
  the step that books or declines it, both in the week it was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from skillswap.domain.limits import MAX_LATE_WEEKS, REVIEW_WINDOW
from skillswap.domain.records import Booking, Notification, Reliability
from skillswap.domain.refusals import AttendanceRefused, NotParticipant
from skillswap.domain.skills import normalise_skill
from skillswap.domain.teacher_rules import in_weeks, week_of, window_weeks
from skillswap.domain.times import iso_utc, parse_iso_utc

HAPPENED, THEY_MISSED, I_MISSED = "happened", "they_missed", "i_missed"
#: The notice kind telling a person that the other reported they did not come.
NO_SHOW_NOTICE = "no_show"
#: The marks, as the dashboard's buttons word them.
MARKS = {
    HAPPENED: "It happened",
    THEY_MISSED: "They didn't come",
    I_MISSED: "I couldn't come",
}
# Outcomes of a session that ended (and "open": not ended, or cancelled).
HELD, UNCONFIRMED, DISPUTED, MISSED, OPEN = "held", "unconfirmed", "disputed", "missed", "open"
#: An unconfirmed session counts as held this long after it ended.
CONFIRM_AFTER = timedelta(days=7)
#: Marks close with the reviews, before anything can be archived (30 days).
MARK_WINDOW = REVIEW_WINDOW
#: A person a no-show report names may answer it (say it happened, or agree) this long after
#: the report, even once marks have closed: a report in the last minute is not final unheard.
#: A report comes at most MARK_WINDOW after the session, so answers end 21 days after it,
#: well before the session can leave for the archive (30 days, domain/archive.py).
REPLY_WINDOW = timedelta(days=7)
#: An invitation counts as answered when booked or declined within this.
ANSWER_WITHIN = timedelta(days=7)
COUNTER_NAMES = ("held", "no_shows", "invitations", "answered")


def absentee(booking: Booking, marker: str, mark: str) -> str | None:
    """Who a mark says was not there; None for "happened"."""
    if mark == THEY_MISSED:
        return booking.other(marker)
    if mark == I_MISSED:
        return marker
    return None


def outcome(booking: Booking, now: datetime) -> str:
    """What the marks on this copy make of the session at `now` (see the module's doc)."""
    end = booking.end_at
    if booking.status != "confirmed" or now < end:
        return OPEN
    people = (booking.teacher, booking.learner)
    # Most sessions carry no marks: every figure on a profile or dashboard asks this of each.
    marks = booking.attendance and {
        uid: m["mark"] for uid, m in booking.attendance.items() if uid in people
    }
    if not marks:
        return HELD if now >= end + CONFIRM_AFTER else UNCONFIRMED
    absent = {a for uid, mark in marks.items() if (a := absentee(booking, uid, mark))}
    if not absent:
        return HELD
    if HAPPENED in marks.values() or len(absent) > 1:
        return DISPUTED
    return MISSED


def final_outcome(booking: Booking) -> str:
    """The outcome once nothing can change it any more (archived sessions)."""
    return outcome(booking, max(booking.end_at + CONFIRM_AFTER, booking.end_at + MARK_WINDOW))


def no_show_of(booking: Booking, now: datetime) -> str | None:
    """The person a missed session counts against, or None."""
    if outcome(booking, now) != MISSED:
        return None
    marker, entry = next(iter(booking.attendance.items()))
    return absentee(booking, marker, entry["mark"])


def reply_until(booking: Booking, uid: str) -> datetime | None:
    """Until when `uid` may answer the other person's report that `uid` did not come; None
    when there is no such report. Only a report made while marks were open is answered: a
    counter-report made in the answering week is itself the answer, or the two could take
    turns for ever, past the archive."""
    other = booking.other(uid)
    entry = booking.attendance.get(other)
    if entry is None or absentee(booking, other, entry["mark"]) != uid:
        return None
    reported = parse_iso_utc(entry["at"])
    if reported >= booking.end_at + MARK_WINDOW:
        return None
    return reported + REPLY_WINDOW


def marks_open_to(booking: Booking, uid: str) -> dict[str, str]:
    """The marks `uid` may give (value: label): all of them, but only "It happened" once they
    have rated the session, a rating being their word that it took place."""
    if uid in booking.reviews:
        return {HAPPENED: MARKS[HAPPENED]}
    return MARKS


def may_mark(booking: Booking, uid: str, now: datetime) -> bool:
    """Are marks open for `uid` at `now` (the session over): within MARK_WINDOW of its end,
    or answering a no-show report against them (REPLY_WINDOW)."""
    if now < booking.end_at + MARK_WINDOW:
        return True
    answer_by = reply_until(booking, uid)
    return answer_by is not None and now < answer_by


def reported_no_show(booking: Booking, uid: str) -> bool:
    entry = booking.attendance.get(uid)
    return entry is not None and entry["mark"] != HAPPENED


# --- per-week counters, bounded ----------------------------------------------------------


def count_week(
    counts: Mapping[str, Mapping[str, int]], week: str, name: str, delta: int, now: datetime
) -> dict[str, dict[str, int]]:
    """`counts` ({week: {name: n}}) with `delta` added to one week's `name`; weeks that no
    longer reach into the last 90 days dropped, never more than MAX_LATE_WEEKS weeks."""
    first = _window_start(now)
    kept = {w: dict(c) for w, c in counts.items() if w >= first}
    if week >= first and delta:
        row = kept.setdefault(week, {})
        row[name] = row.get(name, 0) + delta
        if not row[name]:
            del row[name]
    kept = {w: c for w, c in kept.items() if c}
    return {w: kept[w] for w in sorted(sorted(kept, reverse=True)[:MAX_LATE_WEEKS])}


def in_window(counts: Mapping[str, Mapping[str, int]], name: str, now: datetime) -> int:
    """`name` summed over the weeks in the last 90 days (whole weeks, as late cancels)."""
    return _in_weeks(counts, name, window_weeks(now))


def _window_start(now: datetime) -> str:
    return window_weeks(now)[0]


class AttendanceRules:
    """Mixed into Schedule: marks on one person's copies, invitations they received, and
    their reliability record."""

    owner: str
    bookings: dict[str, Booking]
    notifications: list[Notification]
    reliability: dict[str, dict[str, int]]
    late: dict[str, dict[str, int]]
    notify: Callable[[Notification], None]

    def mark_attendance(self, booking_id: str, by: str, mark: str, now: datetime) -> Booking:
        """`by`'s mark on this copy, not yet copied to the other person's. Marking the same
        again changes nothing; a different mark replaces it."""
        booking = self.bookings.get(booking_id)
        if booking is None or by not in (booking.teacher, booking.learner):
            raise NotParticipant("Only the two people in a session can say whether it happened.")
        if mark not in MARKS:
            raise AttendanceRefused("Choose whether the session happened, or who did not come.")
        if booking.status != "confirmed":
            raise AttendanceRefused("A cancelled session did not take place: nothing to mark.")
        if now < booking.end_at:
            raise AttendanceRefused("You can say whether this session happened once it has ended.")
        if not may_mark(booking, by, now):
            raise AttendanceRefused(
                "Whether this session happened could be marked until 14 days after it (or "
                "7 days after a report that you did not come); that time is over."
            )
        if mark not in marks_open_to(booking, by):
            raise AttendanceRefused(
                "You have rated this session, so you cannot report that it did not take place."
            )
        current = booking.attendance.get(by)
        if current is not None and current["mark"] == mark:
            return booking
        number = current["n"] + 1 if current else 1
        booking.attendance[by] = {"mark": mark, "at": iso_utc(now), "n": number, "copied": False}
        return booking

    def take_mark(self, booking_id: str, by: str, entry: Mapping[str, Any]) -> bool:
        """The other person's mark, copied into this copy unless it holds that mark or a
        newer one already. False: nothing to copy (or no such session here)."""
        copy = self.bookings.get(booking_id)
        if copy is None:
            return False
        held = copy.attendance.get(by)
        if held is not None and held["n"] >= entry["n"]:
            return False
        copy.attendance[by] = {**entry, "copied": True}
        answer_by = reply_until(copy, self.owner)
        told = held is not None and absentee(copy, by, held["mark"]) == self.owner
        if answer_by is not None and not told:
            # A new report that the owner did not come: they are told, and may answer it.
            self.notify(
                Notification(
                    id=f"no-show-{booking_id}-{entry['n']}",
                    kind=NO_SHOW_NOTICE,
                    actor=copy.other_name(self.owner),
                    skill=copy.skill,
                    created=entry["at"],
                    booking_id=booking_id,
                    start=copy.start,
                    end=copy.end,
                    note=iso_utc(answer_by),
                    title=copy.title,
                )
            )
        return True

    def mark_copied(self, booking_id: str, by: str, number: int) -> None:
        """The other person's copy has mark `number`: a newer mark stays to be copied."""
        booking = self.bookings.get(booking_id)
        entry = booking.attendance.get(by) if booking else None
        if entry is not None and entry["n"] == number:
            entry["copied"] = True

    def uncopied_marks(self) -> list[Booking]:
        """Sessions whose owner's mark has not reached the other person's copy yet."""
        return [
            b
            for b in self.bookings.values()
            if (mine := b.attendance.get(self.owner)) is not None and not mine["copied"]
        ]

    # --- invitations ---------------------------------------------------------------------

    def receive_invitation(self, invitation: Notification, now: datetime) -> None:
        """An invitation arrives: told, and counted in the week it was sent."""
        self.notify(invitation)
        self._count(parse_iso_utc(invitation.created), "invitations", now)

    def forget_invitation(self, dropped: Notification, now: datetime) -> None:
        """A notification pushed out of the kept ones: an invitation still open then can no
        longer be seen, booked from or declined, so it stops counting against its receiver
        (one left unanswered for its whole 7 days still counts)."""
        if dropped.kind != "invited" or dropped.answered:
            return
        sent = parse_iso_utc(dropped.created)
        if now - sent < ANSWER_WITHIN:
            self._count(sent, "invitations", now, delta=-1)

    def _answer(self, invitation: Notification, answer: str, now: datetime) -> bool:
        invitation.answered = answer
        sent = parse_iso_utc(invitation.created)
        if now - sent > ANSWER_WITHIN:
            return False
        self._count(sent, "answered", now)
        return True

    def answer_invitations(self, teacher_name: str, skill: str, now: datetime) -> int:
        """A booking with this teacher for this skill answers their open invitations for
        it; how many were answered in time."""
        key = normalise_skill(skill)
        answered = 0
        for n in self.notifications:
            if (
                n.kind == "invited"
                and not n.answered
                and n.actor == teacher_name
                and normalise_skill(n.skill) == key
            ):
                answered += self._answer(n, "booked", now)
        return answered

    def decline_invitation(self, notification_id: str, now: datetime) -> Notification:
        found = next(
            (n for n in self.notifications if n.id == notification_id and n.kind == "invited"),
            None,
        )
        if found is None:
            raise NotParticipant("There is no such invitation among your notifications.")
        if found.answered:
            word = "booked" if found.answered == "booked" else "declined"
            raise AttendanceRefused(f"You have already {word} this invitation.")
        self._answer(found, "declined", now)
        return found

    def _count(self, when: datetime, name: str, now: datetime, delta: int = 1) -> None:
        self.reliability = count_week(self.reliability, week_of(when), name, delta, now)

    # --- the record ----------------------------------------------------------------------

    def archive_outcomes(self, leaving: Iterable[Booking], now: datetime) -> None:
        """Sessions leaving the live document add their final outcome to the counters."""
        for b in leaving:
            result = final_outcome(b)
            if result == HELD:
                self._count(b.start_at, "held", now)
            elif result == MISSED and no_show_of(b, b.end_at + MARK_WINDOW) == self.owner:
                self._count(b.start_at, "no_shows", now)

    def live_tally(self, now: datetime) -> LiveTally:
        """One pass over the live sessions that ended: held ones taught and attended, and the
        record's live part (held, no-shows against the owner) in the last 90 days. Profiles,
        booking pages and every teacher a match page ranks ask for both (`stats`), so each
        session's outcome is worked out once."""
        moment = iso_utc(now)
        # The window's first Monday as an instant: ISO UTC strings compare as instants, and
        # matching asks this of every teacher it shows (no parsing of every start).
        first = _window_start(now) + "T00:00:00Z"
        tally = LiveTally()
        for b in self.bookings.values():
            if b.status != "confirmed" or b.end > moment:
                continue
            result = outcome(b, now)
            recent = b.start >= first
            if result == HELD:
                if b.teacher == self.owner:
                    tally.taught += 1
                else:
                    tally.attended += 1
                tally.held += recent
            elif result == MISSED and recent and no_show_of(b, now) == self.owner:
                tally.no_shows += 1
        return tally

    def reliability_record(
        self, now: datetime, invitations: bool = True, tally: LiveTally | None = None
    ) -> Reliability:
        """The last 90 days (whole weeks): counters plus the live window, counted now.
        `invitations=False` leaves the invitation figures at 0 (ranking needs none, and
        they read the notifications); `tally`: live_tally(now), when the caller has it."""
        live = tally if tally is not None else self.live_tally(now)
        weeks = window_weeks(now)
        counts = self.reliability
        held = live.held + _in_weeks(counts, "held", weeks)
        no_shows = live.no_shows + _in_weeks(counts, "no_shows", weeks)
        late = in_weeks(self.late.get("cancel", {}), weeks)
        if not invitations:
            return Reliability(held, late, no_shows)
        sent = _in_weeks(counts, "invitations", weeks)
        answered = _in_weeks(counts, "answered", weeks)
        # Open invitations younger than 7 days are not settled yet: not counted as unanswered.
        cutoff = iso_utc(now - ANSWER_WITHIN)
        waiting = sum(
            1
            for n in self.notifications
            if n.kind == "invited" and not n.answered and n.created > cutoff
        )
        return Reliability(held, late, no_shows, max(sent - waiting, answered), answered)


@dataclass
class LiveTally:
    """What the live sessions add to a person's figures (AttendanceRules.live_tally)."""

    taught: int = 0
    attended: int = 0
    held: int = 0  # in the record's window
    no_shows: int = 0  # against the owner, in the record's window


def _in_weeks(counts: Mapping[str, Mapping[str, int]], name: str, weeks: tuple[str, str]) -> int:
    """`name` summed over the per-week counters in `weeks` (teacher_rules.window_weeks)."""
    return in_weeks({week: c.get(name, 0) for week, c in counts.items()}, weeks)


def record_lines(record: Reliability) -> list[str]:
    """What a profile says of a record, one line each."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    lines = [
        plural(record.held, "session") + " held",
        plural(record.late_cancels, "late cancellation"),
        plural(record.no_shows, "no-show") + " reported and not disputed",
    ]
    if record.invitations:
        share = round(100 * record.answered / record.invitations)
        lines.append(
            f"{share}% of invitations answered within 7 days "
            f"({record.answered} of {record.invitations})"
        )
    return lines


def ranking_key(record: Reliability) -> tuple[int, int]:
    """Fewer no-shows and late cancellations first, then more sessions held."""
    return (record.no_shows + record.late_cancels, -record.held)
