"""Did it happen, over both people's documents, and declining an invitation.

A mark is written the way a review is (services/booking.py): on the marker's own copy first,
marked not yet copied, then copied to the other person's copy and marked done. Each person's
mark has its own slot in the booking ({marker: mark}), so two people marking at the same
moment write different slots of each document and both marks survive; a mark carries a
number that rises with each change, so a late copy of an older mark never replaces a newer
one. Read repair (`services.booking.resolve_pending`) copies a mark a crash left behind.
"""

from __future__ import annotations

from skillswap.domain.records import Booking, Notification
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.repo import Repository
from skillswap.services import booking as booking_service
from skillswap.services import upkeep


def mark(repo: Repository, uid: str, booking_id: str, what: str) -> Booking:
    """`uid` says whether the session happened: their copy, then the other person's.
    Refusals (domain/attendance.py) are raised before anything is written."""
    now = repo.clock()
    mine = repo.schedule(uid).bookings.get(booking_id)
    if mine is not None and uid in (mine.teacher, mine.learner):
        probe = {"mark": what, "at": iso_utc(now), "n": 1 << 30, "copied": True}

        def their_copy(s: Schedule) -> None:
            s.take_mark(booking_id, uid, probe)

        booking_service.make_room(repo, mine.other(uid), their_copy)
    with upkeep.after(repo):
        marked = repo.change_schedule(uid, lambda s: s.mark_attendance(booking_id, uid, what, now))
        if not marked.attendance[uid]["copied"]:
            copy_mark(repo, uid, marked)
    return marked


def copy_mark(repo: Repository, uid: str, booking: Booking) -> None:
    """Step two of a mark: the other person's copy, then mark it copied on `uid`'s."""
    entry = dict(booking.attendance[uid])
    other = booking.other(uid)

    def take(s: Schedule) -> int:
        # A report that `other` did not come tells them (domain/attendance.py: take_mark).
        before = s.unread
        s.take_mark(booking.id, uid, entry)
        return s.unread - before

    told = repo.change_schedule(other, take)
    if told > 0:
        repo.count_unread(other, +told)
    repo.change_schedule(uid, lambda s: s.mark_copied(booking.id, uid, entry["n"]))


def decline(repo: Repository, uid: str, notification_id: str) -> Notification:
    """`uid` declines an invitation among their notifications (one atomic step: answered
    once however often the button is pressed)."""
    now = repo.clock()
    return repo.change_schedule(uid, lambda s: s.decline_invitation(notification_id, now))
