"""The rules an edited escalation chain must keep (alerts.chain_safety), each refusal naming its rule."""

from __future__ import annotations

import pytest

from alerts.alarm_model import EscalationStep, StaffRole
from alerts.chain_safety import ChainRefused, check_chain, delay_range
from alerts.escalation_policy import DEFAULT_CHAINS, HOME, WARD_DEFAULT
from wire.messages import Priority

S, R = EscalationStep, StaffRole


def refusal(scope: str, priority: Priority, steps: list[EscalationStep]) -> tuple[str, dict[str, object]]:
    with pytest.raises(ChainRefused) as e:
        check_chain(scope, priority, steps)
    return e.value.key, e.value.params


def test_every_declared_default_keeps_the_rules() -> None:
    for scope, chains in DEFAULT_CHAINS.items():
        for priority, steps in chains.items():
            check_chain(scope, priority, steps)


def test_a_high_alarm_may_not_wait_half_an_hour_on_a_ward_but_may_at_home() -> None:
    key, params = refusal("ward-a", Priority.HIGH, [S(1800, R.CHARGE_NURSE)])
    assert key == "error.chain_delay" and params["level"] == 1 and (params["low"], params["high"]) == ("30", "300")
    check_chain(HOME, Priority.HIGH, [S(1800, R.CHARGE_NURSE)])
    assert delay_range(WARD_DEFAULT, Priority.HIGH) == delay_range("ward-a", Priority.HIGH)


@pytest.mark.parametrize(("priority", "too_soon", "ok", "too_late"), [
    (Priority.HIGH, 29, 30, 301), (Priority.MEDIUM, 59, 1800, 1801), (Priority.LOW, 299, 3600, 3601),
])
def test_ward_ranges_per_priority(priority: Priority, too_soon: float, ok: float, too_late: float) -> None:
    check_chain("w", priority, [S(ok, R.CHARGE_NURSE)])
    for bad in (too_soon, too_late):
        assert refusal("w", priority, [S(ok, R.CHARGE_NURSE), S(bad, R.RAPID_RESPONSE)])[0] == "error.chain_delay"


def test_a_chain_never_goes_down_but_may_remind_the_same_role() -> None:
    key, params = refusal("w", Priority.HIGH, [S(60, R.RAPID_RESPONSE), S(60, R.NURSE)])
    assert key == "error.chain_down" and params == {"level": 2, "target": "nurse", "previous": "rapid_response"}
    check_chain("w", Priority.HIGH, [S(60, R.NURSE), S(60, R.CHARGE_NURSE), S(60, R.CHARGE_NURSE), S(60, R.RAPID_RESPONSE)])


def test_step_counts() -> None:
    assert refusal("w", Priority.HIGH, []) == ("error.chain_empty", {"priority": "high"})
    check_chain("w", Priority.MEDIUM, [])
    check_chain(HOME, Priority.LOW, [])
    assert refusal("w", Priority.MEDIUM, [S(300, R.CHARGE_NURSE)] * 6) == ("error.chain_too_long", {"max": 5})
    check_chain("w", Priority.MEDIUM, [S(300, R.CHARGE_NURSE)] * 5)
