"""How many questions the app answers at once, how many may wait, and how long one may take.

Answering is CPU-bound (the model encodes the question, FAISS and BM25 search, sentences are
scored), so on a 2-core server two questions at once is as fast as it gets; more threads only
share the same cores. :class:`Gate` runs questions on ``workers`` threads of its own, lets at
most ``waiting`` more wait for one, and turns the next away at once with :data:`BUSY` (a one-line
message for the chat and the API) instead of letting a queue grow without end.

The deadline (``deadline_s``, counted from the moment a question is let in):

- *does* stop the wait: the caller gets :class:`TooSlow` (or :class:`Busy`, if its question
  never reached a worker) and its web request, Gradio worker and browser are free again;
- *does* drop a question that has not started yet: it never runs;
- does *not* stop a question already being answered: Python cannot interrupt a thread, and the
  work is in numpy, FAISS and torch calls. That question runs to its end on its worker and its
  answer is thrown away. While it runs it still counts against ``workers + waiting``, so work
  that overruns makes the app say "busy" sooner rather than pile more work behind it. A question
  that never ends (a bug) keeps its worker for good: the other worker still answers, and the
  process must be restarted to get it back.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

BUSY = "The server is busy; try again in a moment."


class Busy(RuntimeError):
    """Too many questions waiting; ``str()`` is :data:`BUSY`."""


class TooSlow(RuntimeError):
    """A question was not answered within the deadline; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class GateState:
    """A snapshot: questions being answered, waiting for a worker, and the totals so far."""

    running: int
    waiting: int
    answered: int
    busy: int
    too_slow: int


class Gate:
    """Runs questions on ``workers`` threads, with at most ``waiting`` more waiting for one.

    :param workers: questions answered at once (about one per core: the work is CPU-bound).
    :param waiting: questions let wait for a worker; the next one is refused with :class:`Busy`.
    :param deadline_s: the longest a caller waits for an answer, from the moment it is let in.
    """

    def __init__(self, workers: int = 2, waiting: int = 32, deadline_s: float = 30.0):
        if workers < 1:
            raise ValueError(f"workers must be at least 1. Currently, it is {workers}")
        if waiting < 0:
            raise ValueError(f"waiting must be 0 or more. Currently, it is {waiting}")
        if not deadline_s > 0:
            raise ValueError(f"deadline_s must be greater than 0. Currently, it is {deadline_s}")
        self.workers, self.waiting, self.deadline_s = workers, waiting, deadline_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reportqa-ask")
        self._lock = threading.Lock()
        self._admitted = 0  # waiting + running, including work whose caller gave up on it
        self._running = 0
        self._answered = self._busy = self._too_slow = 0

    def state(self) -> GateState:
        with self._lock:
            return GateState(self._running, self._admitted - self._running, self._answered, self._busy,
                             self._too_slow)

    def _release(self, _future) -> None:
        with self._lock:
            self._admitted -= 1

    def _call(self, fn, args, kwargs):
        with self._lock:
            self._running += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with self._lock:
                self._running -= 1

    def run(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` on a worker, waiting up to the deadline for its result (or
        its exception, raised here).

        :raises Busy: ``workers + waiting`` questions are already in, or this one was still
            waiting for a worker at the deadline.
        :raises TooSlow: it was being answered at the deadline (it runs on; see the module).
        """
        with self._lock:
            if self._admitted >= self.workers + self.waiting:
                self._busy += 1
                raise Busy(BUSY)
            self._admitted += 1
        try:
            future = self._pool.submit(self._call, fn, args, kwargs)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        wait([future], timeout=self.deadline_s)
        if future.done():
            with self._lock:
                self._answered += 1
            return future.result()
        # (cancel() outside the lock: it calls _release, which takes it)
        if future.cancel():  # never reached a worker: the questions ahead took all the time
            with self._lock:
                self._busy += 1
            raise Busy(BUSY)
        with self._lock:
            self._too_slow += 1
        raise TooSlow(f"This question took longer than {self.deadline_s:g} s to answer and was given up; "
                      "try again in a moment, or ask a narrower question.")
