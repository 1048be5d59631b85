"""The benchmark's exit status: a miss fails the run only where reading less could meet it."""

from __future__ import annotations

from bench.harness import Target, run_status


def ratio(value: float, rendering: float | None = None) -> Target:
    return Target("HTTP page / reference", value, 0.5, ">=", rendering=rendering)


def test_a_run_passes_when_every_target_is_met() -> None:
    assert run_status([ratio(0.6, 0.9), Target("p95", 8.0, 10.0, "<=")]) == 0


def test_a_miss_its_rendering_alone_meets_fails_the_run() -> None:
    assert run_status([ratio(0.6), ratio(0.4, rendering=0.7)]) == 1


def test_a_miss_its_rendering_alone_misses_too_does_not() -> None:
    assert run_status([ratio(0.6), ratio(0.2, rendering=0.3)]) == 0


def test_a_target_not_measured_or_without_a_rendering_fails_the_run() -> None:
    assert run_status([ratio(0.2)]) == 1
    assert run_status([Target("p95", None, 10.0, "<=")]) == 1
