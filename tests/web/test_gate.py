"""The gate in front of answering: workers, a bounded waiting room, a deadline (tiny sleeps)."""
import threading
import time

import pytest

from web.gate import BUSY, Busy, Gate, TooSlow


def test_answers_pass_through_and_errors_are_raised_to_the_caller():
    gate = Gate(workers=2, waiting=0, deadline_s=5)
    assert gate.run(lambda a, b=0: a + b, 2, b=3) == 5
    with pytest.raises(KeyError):
        gate.run({}.__getitem__, "x")
    assert gate.state() == gate.state().__class__(running=0, waiting=0, answered=2, busy=0, too_slow=0)


def test_past_workers_and_waiting_room_the_next_question_is_told_the_server_is_busy():
    gate = Gate(workers=1, waiting=1, deadline_s=5)
    release = threading.Event()
    results = []
    threads = [threading.Thread(target=lambda: results.append(gate.run(release.wait, 5))) for _ in range(2)]
    for t in threads:
        t.start()
    while gate.state().running + gate.state().waiting < 2:
        time.sleep(0.01)
    assert (gate.state().running, gate.state().waiting) == (1, 1)
    with pytest.raises(Busy) as caught:
        gate.run(lambda: "never")
    assert str(caught.value) == BUSY == "The server is busy; try again in a moment."
    release.set()
    for t in threads:
        t.join(5)
    assert results == [True, True] and gate.state().busy == 1
    assert gate.run(lambda: "again") == "again"  # room again once they are done


def test_past_the_deadline_the_caller_is_freed_and_the_overrun_still_holds_its_place():
    gate = Gate(workers=1, waiting=1, deadline_s=0.2)
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(TooSlow, match=r"^This question took longer than 0.2 s to answer and was given up; "):
        gate.run(release.wait, 10)
    assert time.monotonic() - started < 2  # the caller did not wait for the work
    # The overrun keeps its worker: a question behind it never starts and is told "busy" ...
    with pytest.raises(Busy):
        gate.run(lambda: "behind")
    state = gate.state()
    assert (state.running, state.waiting, state.too_slow, state.busy) == (1, 0, 1, 1)
    release.set()
    deadline = time.monotonic() + 5
    while gate.state().running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gate.run(lambda: "next") == "next"  # ... and the worker is back once it ends


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="workers must be at least 1. Currently, it is 0"):
        Gate(workers=0)
    with pytest.raises(ValueError, match="deadline_s must be greater than 0"):
        Gate(deadline_s=0)
