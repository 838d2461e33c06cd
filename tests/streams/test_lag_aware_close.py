"""Lag-aware window closing: a worker replaying a backlog does not close windows early, a live one closes on time.

Deterministic: the tick's wall time, the partition's end offset and what was
processed are arguments (streams.clock), the core gets the resulting time.
"""

from __future__ import annotations

from streams import engine
from streams.candidates import Outputs
from streams.clock import PartitionInput, input_watermark_ms
from tests.streams.helpers import Patient, ms, r, wobble
from wire.units import ReadingType as RT

HR = RT.HEART_RATE


def minute(start: int, n: int = 60) -> list:  # type: ignore[type-arg]
    return [r(HR, start + i, 80 + wobble(i, 2)) for i in range(n)]


def tick(p: Patient, wall_ms: int) -> Outputs:
    out = engine.tick(p.pid, p.live, p.hist, wall_ms, p.cfg)
    p.outs.append(out)
    return out


def closed_counts(out: Outputs) -> list[int]:
    return [w.count for w in out.windows if w.length_s == 60]


def test_watermark_is_the_wall_clock_when_caught_up_else_the_last_processed_receive_time() -> None:
    p = PartitionInput()
    assert input_watermark_ms(ms(100), None, p) == ms(100)  # nothing known: live
    p.processed(offset=9, received_ms=ms(40))
    assert input_watermark_ms(ms(100), highwater=10, p=p) == ms(100)  # read everything: live
    assert input_watermark_ms(ms(100), highwater=500, p=p) == ms(40)  # 490 records behind
    p.processed(offset=499, received_ms=ms(95))
    assert input_watermark_ms(ms(100), highwater=500, p=p) == ms(100)
    p.processed(offset=5, received_ms=ms(10))  # a redelivered older record moves nothing back
    assert (p.next_offset, p.last_received_ms) == (500, ms(95))


def test_replaying_worker_does_not_close_windows_early() -> None:
    # Patient A's minute 0 arrived in two records, received at 50 s and at 65 s; a worker
    # restarted at 130 s replays the partition and has processed only the first one so far.
    a = Patient(pid="A")
    part = PartitionInput()
    a.feed(minute(0, 50), received=50)
    part.processed(0, ms(50))
    wall = input_watermark_ms(ms(130), highwater=2, p=part)  # one record still to read
    assert wall == ms(50)
    assert tick(a, wall).windows == []  # the tick acts on 50 s: nothing closed
    out = a.feed(minute(0)[50:], received=65)  # the rest of the minute, from the backlog
    part.processed(1, ms(65))
    assert out.accepted == 10 and a.live.vitals["heart_rate"].late == 0
    wall = input_watermark_ms(ms(131), highwater=2, p=part)  # caught up: the wall clock
    assert wall == ms(131) and closed_counts(tick(a, wall)) == [60]


def test_naive_wall_clock_would_have_cut_the_window() -> None:
    # The same replay judged by the raw wall time: the window closes with 50 of 60 samples
    # and the backlog's 10 readings are counted late. This is what the watermark prevents.
    a = Patient(pid="A")
    a.feed(minute(0, 50), received=50)
    assert closed_counts(tick(a, ms(130))) == [50]
    a.feed(minute(0)[50:], received=65)
    assert a.live.vitals["heart_rate"].late == 10


def test_live_worker_closes_a_quiet_sensor_on_time() -> None:
    a = Patient(pid="A")
    part = PartitionInput()
    a.feed(minute(0, 50), received=50)
    part.processed(0, ms(50))
    for now in (60, 65, 69):
        assert tick(a, input_watermark_ms(ms(now), highwater=1, p=part)).windows == []
    # Window end + 10 s lateness passed and the sensor was quiet for 21 s: closed on time.
    assert closed_counts(tick(a, input_watermark_ms(ms(71), highwater=1, p=part))) == [50]
