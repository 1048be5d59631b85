"""A teacher's booking rules (domain/teacher_rules.py), saved in their own schedule document so
that every claim reads them inside its atomic step."""

from __future__ import annotations

from dataclasses import replace

from skillswap.domain.schedule import Schedule
from skillswap.domain.teacher_rules import TeacherRules, rules_problems
from skillswap.repo import Repository


def save_rules(repo: Repository, uid: str, rules: TeacherRules) -> None:
    problems = rules_problems(rules.stored())
    if problems:  # the form says which; this is the guard for any other caller
        raise ValueError(f"booking rules out of bounds: {problems}")
    repo.change_schedule(uid, lambda s: s.set_rules(rules))


def follow_zone(repo: Repository, uid: str, zone: str) -> None:
    """The person's zone changed: their daily cap counts days in the new one. Writes only
    when they have rules saved (the defaults have no cap, so no zone to follow)."""

    def change(s: Schedule) -> None:
        if s.booking_rules and s.teacher_rules.zone != zone:
            s.set_rules(replace(s.teacher_rules, zone=zone))

    repo.change_schedule(uid, change)
