"""One queue for the app's heavy requests, so one visitor cannot starve a class.

A heavy request is anything that builds a model or runs TensorFlow for a visitor: the
Instantiate build, the latency profile, a prediction with its feature maps, Grad-CAM.
:data:`GATE` lets at most ``slots`` of them run at once in the process and lines the rest
up first come, first served (Python's locks promise no order; this queue does), and it
holds at most one request per session: a session that asks for a second one while its
first still runs gets :class:`Busy`.

A waiting session can learn its place (:meth:`HeavyGate.ahead`) to show "waiting for 2
other requests". When Streamlit interrupts a waiting script (the visitor clicked again),
the ticket leaves the queue; the session may come back with the same sequence number
(``seq``) so that it keeps its place instead of going to the back.

This module is pure threading (no Streamlit); ``views.common.heavy`` wraps it for the page.
It sits around the model-memory checks and the model caches of ``inference`` and
``limits``, and does not replace them: those bound memory, this bounds waiting.
"""

from __future__ import annotations

import itertools
import os
import threading
from dataclasses import dataclass, field


def default_slots(cpus: int | None = None) -> int:
    """Heavy requests that run at once: one per four CPU cores, 1 to 4 (TensorFlow already
    spreads one request over all cores; more at once only share them and add memory)."""
    cpus = os.cpu_count() if cpus is None else cpus
    return max(1, min(4, (cpus or 1) // 4))


class Busy(Exception):
    """The session already has a heavy request queued or running (``kind`` says which)."""

    def __init__(self, kind: str):
        super().__init__(f"a {kind} is still running for this session")
        self.kind = kind


@dataclass(eq=False)
class Ticket:
    session: str
    kind: str
    seq: int
    thread: int = field(default_factory=threading.get_ident)
    running: bool = False


class HeavyGate:
    """At most ``slots`` tickets run at once; the others wait in ``seq`` order."""

    def __init__(self, slots: int = 1):
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self._cond = threading.Condition()
        self._seq = itertools.count(1)
        self._waiting: list[Ticket] = []
        self._running: list[Ticket] = []
        self._by_session: dict[str, Ticket] = {}

    def join(self, session: str, kind: str, seq: int | None = None) -> Ticket:
        """Queue a request of ``session``; ``seq`` (from an earlier, interrupted ticket of
        the same session) keeps its place. Raises :class:`Busy` if the session has one."""
        with self._cond:
            old = self._by_session.get(session)
            if old is not None:
                raise Busy(old.kind)
            t = Ticket(session, kind, seq if seq is not None else next(self._seq))
            self._waiting.append(t)
            self._waiting.sort(key=lambda x: x.seq)
            self._by_session[session] = t
            self._cond.notify_all()
            return t

    def ahead(self, ticket: Ticket) -> int:
        """Requests before ``ticket``: those running plus those waiting in front of it
        (0 once it runs)."""
        with self._cond:
            if ticket.running:
                return 0
            i = next((i for i, t in enumerate(self._waiting) if t is ticket), len(self._waiting))
            return len(self._running) + i

    def _can_start(self, ticket: Ticket) -> bool:
        return len(self._running) < self.slots and bool(self._waiting) and self._waiting[0] is ticket

    def wait(self, ticket: Ticket, timeout: float | None = None) -> bool:
        """Block until ``ticket`` may run (then it counts as running: True) or ``timeout``
        seconds pass (False; it keeps its place)."""
        with self._cond:
            if ticket.running:
                return True
            if ticket not in self._waiting:
                raise ValueError("the ticket has left the queue")
            if not self._cond.wait_for(lambda: self._can_start(ticket), timeout):
                return False
            self._waiting.remove(ticket)
            self._running.append(ticket)
            ticket.running = True
            return True

    def leave(self, ticket: Ticket) -> None:
        """The request is done or abandoned; the next one may start."""
        with self._cond:
            for q in (self._waiting, self._running):
                if ticket in q:
                    q.remove(ticket)
            if self._by_session.get(ticket.session) is ticket:
                del self._by_session[ticket.session]
            ticket.running = False
            self._cond.notify_all()

    def holder(self, session: str) -> Ticket | None:
        """The session's ticket, queued or running."""
        with self._cond:
            return self._by_session.get(session)

    def counts(self) -> tuple[int, int]:
        """(running, waiting)."""
        with self._cond:
            return len(self._running), len(self._waiting)


#: The process-wide queue of the app.
GATE = HeavyGate(default_slots())

__all__ = ["Busy", "GATE", "HeavyGate", "Ticket", "default_slots"]
