"""Waitlists: joining and leaving a teacher's line, and telling whoever a freed slot is held
for (domain/waitlist.py holds the rules).

Joining is two atomic steps, like booking: the learner's document notes the waitlist (refused
at the learner's cap), then the teacher's document takes the entry (refused when the line is
full, and then the learner's note is taken back). A crash between them leaves a note in the
learner's document only: it ends with its window, and Leave removes it. A Join and a Leave in
flight at once never leave anyone in a teacher's line without that note (see `leave`); at
worst, a Leave begun before the Join leaves a note as a crash does.

Holds are taken inside the teacher's write that frees a slot (a cancel, a move, a new offer),
passed on by `settle` (called when a booking page or the teacher's own pages read the
document, by upkeep after any write of it, and by the sender when a hold's time is up), and
announced by `announce`: a notice in the holder's document (once per hold), then two entries
in the due index: one that mails the holder at once and one at the hold's end that passes it
on. The sender (services/notify.py) acts on both, so a hold passes on even if nobody reads.
"""

from __future__ import annotations

from skillswap.domain.records import LearnRequest, Notification
from skillswap.domain.refusals import ScheduleRefusal
from skillswap.domain.reminders import DueEntry
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import iso_utc
from skillswap.domain.users import User
from skillswap.domain.waitlist import (
    HOLD_END,
    HOLD_MAIL,
    Hold,
    MyWait,
    Waiting,
    bound_windows,
)
from skillswap.repo import Repository
from skillswap.repo.keys import new_id

PASSED = "The times of this request have all passed: make a new request to join a waitlist."
LEFT_WHILE_JOINING = (
    "You left this waitlist while joining it, so you are not on it: join again to wait."
)


def join(repo: Repository, learner: User, teacher: User, learn_request: LearnRequest) -> bool:
    """Put `learner` in `teacher`'s line for the request's skill and windows. False when they
    were in it already (nothing changed); LimitReached at either cap."""
    from skillswap.services import upkeep  # upkeep settles holds through this module

    now = repo.clock()
    if teacher.id == learner.id:
        raise ScheduleRefusal("You cannot join your own waitlist.")
    windows = bound_windows(learn_request.windows, now)
    if not windows:
        raise ScheduleRefusal(PASSED)
    skill_key = learn_request.skill_key
    entry = Waiting(
        learner=learner.id,
        name=learner.username,
        skill=learn_request.skill,
        skill_key=skill_key,
        windows=windows,
        ends=windows[-1][1],
        joined=iso_utc(now),
        any_offer=skill_key in {normalise_skill(t) for t in teacher.teach},
        request_id=learn_request.id,
    )
    mine = MyWait(
        teacher=teacher.id,
        teacher_name=teacher.username,
        skill=learn_request.skill,
        skill_key=skill_key,
        ends=entry.ends,
        joined=entry.joined,
        request_id=learn_request.id,
    )
    with upkeep.after(repo):
        noted = repo.change_schedule(learner.id, lambda s: s.add_waiting(mine, now), grows=True)
        try:
            joined = repo.change_schedule(
                teacher.id, lambda s: s.join_waitlist(entry, now), grows=True
            )
        except ScheduleRefusal:
            if noted:
                repo.change_schedule(learner.id, lambda s: s.drop_waiting(teacher.id, skill_key))
            raise
        if joined and not any(
            w.teacher == teacher.id and w.skill_key == skill_key
            for w in repo.schedule(learner.id).waiting
        ):
            # A Leave ran between the two steps and took the note: the line follows it.
            repo.change_schedule(teacher.id, lambda s: s.leave_waitlist(learner.id, skill_key, now))
            raise ScheduleRefusal(LEFT_WHILE_JOINING)
    return bool(noted or joined)


def leave(repo: Repository, learner_id: str, teacher_id: str, skill_key: str) -> bool:
    """Take `learner_id` out of the line (a slot they hold passes on at once). False when
    they were not in it."""
    from skillswap.services import upkeep

    now = repo.clock()
    with upkeep.after(repo):
        # The note first, then the line: with `join` checking the note after its own line
        # step, a Join and a Leave in flight at once never leave anyone in a teacher's line
        # without the note that shows it to them (and counts it against their cap).
        dropped = repo.change_schedule(learner_id, lambda s: s.drop_waiting(teacher_id, skill_key))
        left = repo.change_schedule(
            teacher_id, lambda s: s.leave_waitlist(learner_id, skill_key, now)
        )
    return bool(left or dropped)


def settle(repo: Repository, teacher_id: str, schedule: Schedule | None = None) -> Schedule:
    """Pass on the teacher's holds whose time is up and tell whoever gets one; the document
    as it then is. Costs nothing (no round trip with `schedule` given) when nothing is due."""
    now = repo.clock()
    if schedule is None:
        schedule = repo.schedule(teacher_id)
    if not schedule.holds_due(now):
        return schedule
    moment = iso_utc(now)
    if any(h.until <= moment for h in schedule.holds):
        repo.change_schedule(teacher_id, lambda s: s.settle_holds(now))
        schedule = repo.schedule(teacher_id)
    if schedule.unannounced():
        announce(repo, teacher_id, schedule)
        schedule = repo.schedule(teacher_id)
    return schedule


def hold_notice(hold: Hold, teacher_name: str, now_iso: str) -> Notification:
    return Notification(
        id=new_id(),
        kind="held",
        actor=teacher_name,
        skill=hold.skill,
        created=now_iso,
        booking_id=hold.id,
        start=hold.start,
        end=hold.end,
        note=hold.until,  # the page words it in the reader's zone
        link=f"/book/{teacher_name}?skill={hold.skill_key}&slot={hold.ref}",
    )


def announce(repo: Repository, teacher_id: str, schedule: Schedule) -> int:
    """Tell each new holder: a notice in their document (added once per hold, whatever
    runs this twice), the mail and the hold's end in the due index, then mark it told."""
    now = repo.clock()
    told = 0
    for hold in schedule.unannounced():
        offer = schedule.offers.get(hold.offer_id)
        teacher_name = offer.user if offer is not None else ""
        notice = hold_notice(hold, teacher_name, iso_utc(now))

        def tell(s: Schedule, h: Hold = hold, n: Notification = notice) -> bool:
            if s.is_empty:
                return False  # their account is gone: no document to make for them
            s.note_hold(h, teacher_id)
            # Once per hold: the same slot held for the same person again later (its id is
            # the same) is a new hold, with a new end, and is told again.
            if any(
                x.kind == "held" and x.booking_id == h.id and x.note == h.until
                for x in s.notifications
            ):
                return False
            s.notify(n)
            return True

        if repo.change_schedule(hold.learner, tell):
            repo.count_unread(hold.learner, +1)
            told += 1
        repo.index_reminders(
            [
                DueEntry(hold.id, HOLD_MAIL, iso_utc(now), teacher_id, hold.learner),
                DueEntry(hold.id, HOLD_END, hold.until, teacher_id, hold.learner),
            ]
        )
        repo.change_schedule(teacher_id, lambda s, h=hold: s.mark_announced(h.id, h.until))
    return told
