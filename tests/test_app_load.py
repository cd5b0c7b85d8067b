"""The chat and /ask behind the gate (web/gate.py): "busy" and "took too long" are one line in the
chat and /ask's error, never a traceback (fake asker, no server)."""
import threading
import time

import gradio as gr
import pytest

import app
from web.gate import BUSY, Gate

from test_app import FakeAsker, answer


class SlowAsker(FakeAsker):
    """Answers after ``release`` is set (or ``seconds`` pass)."""

    def __init__(self, seconds=5.0):
        super().__init__(answer())
        self.started, self.release, self.seconds = threading.Event(), threading.Event(), seconds

    def ask(self, question, reports=None, previous=None):
        self.started.set()
        self.release.wait(self.seconds)
        return super().ask(question, reports, previous)


def handler(demo, name):
    return next(f.fn for f in demo.fns.values() if f.fn.__name__ == name)


def chat(demo, question):
    """The chat's last transcript for ``question`` (respond is a generator)."""
    *_, last = handler(demo, "respond")(question, [], [])
    return last[1]


def test_past_the_waiting_room_the_chat_and_the_api_say_the_server_is_busy():
    asker = SlowAsker()
    demo = app.build_app(asker, gate=Gate(workers=1, waiting=0, deadline_s=10))
    holding = threading.Thread(target=chat, args=(demo, "first"))
    holding.start()
    assert asker.started.wait(10)
    transcript = chat(demo, "second")
    assert f'role="alert">{BUSY}</p>' in transcript and "Traceback" not in transcript
    with pytest.raises(gr.Error) as caught:
        handler(demo, "ask")("second")
    assert caught.value.message == BUSY
    asker.release.set()
    holding.join(10)
    assert "rq-answer" in chat(demo, "third")  # the worker is free again


def test_a_question_past_the_deadline_is_one_line_and_frees_the_caller():
    asker, gate = SlowAsker(seconds=1.0), Gate(workers=1, waiting=1, deadline_s=0.1)
    demo = app.build_app(asker, gate=gate)
    started = time.monotonic()
    transcript = chat(demo, "slow")
    assert "This question took longer than 0.1 s to answer and was given up" in transcript
    assert 'role="alert"' in transcript and time.monotonic() - started < 0.9
    # The overrun still holds the only worker (threads cannot be stopped): the next is "busy" ...
    with pytest.raises(gr.Error, match=BUSY):
        handler(demo, "ask")("slow again")
    asker.release.set()
    while gate.state().running:
        time.sleep(0.01)
    asker.release.clear()
    # ... and once it has ended, /ask gets the same one line for a question past the deadline.
    with pytest.raises(gr.Error, match="took longer than 0.1 s"):
        handler(demo, "ask")("slow again")


def test_questions_are_bounded_by_the_gate_and_library_changes_run_one_at_a_time():
    demo = app.build_app(FakeAsker(answer()))
    limits = {f.fn.__name__: (f.concurrency_limit, f.concurrency_id) for f in demo.fns.values()}
    assert limits["respond"][0] is None and limits["ask"][0] is None  # the gate bounds them
    assert limits["add_reports"] == limits["remove_reports"] == (1, "library")
    assert demo._queue.max_size == app.QUEUE_MAX
