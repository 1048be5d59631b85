"""The rules' answers when they say no. Each is an exception whose message is written for the
person who asked; views show it next to what they were doing, with a 4xx status."""

from __future__ import annotations


class ScheduleRefusal(Exception):
    """A rule said no; the message is written for the person who asked."""


class AccountClosed(ScheduleRefusal):
    """The account whose document a change would add to was deleted (or is being)."""

    def __init__(self, message: str = "That account was deleted.") -> None:
        super().__init__(message)


class SlotTaken(ScheduleRefusal):
    pass


class SlotInPast(ScheduleRefusal):
    pass


class SlotUnknown(ScheduleRefusal):
    pass


class OwnSlot(ScheduleRefusal):
    pass


class Overlap(ScheduleRefusal):
    pass


class NotParticipant(ScheduleRefusal):
    pass


class CancelRefused(ScheduleRefusal):
    pass


class ReviewRefused(ScheduleRefusal):
    pass


class OfferHasBookings(ScheduleRefusal):
    pass


class LimitReached(ScheduleRefusal):
    """A person reached one of the ceilings in domain/limits.py. `field` names the form field
    the message belongs next to ("" for the form as a whole)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class MoveRefused(ScheduleRefusal):
    """A session cannot be moved: cancelled, started, being moved already, or changed since
    the page was opened."""


class RuleRefusal(ScheduleRefusal):
    """The teacher's booking rules (domain/teacher_rules.py) refuse this time."""


class TooSoon(RuleRefusal):
    pass


class InBuffer(RuleRefusal):
    pass


class DayFull(RuleRefusal):
    pass


class AttendanceRefused(ScheduleRefusal):
    """A mark of whether a session happened, or an answer to an invitation, is refused."""
