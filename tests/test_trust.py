"""Issue 16: a shared server trusts no visitor; the lecturer's own browser keeps the path
field. The rule (inception_viz.trust), the heavy-request queue (inception_viz.heavy), the
shared memory limit, and the pages every visitor gets (AppTest, every view)."""

from __future__ import annotations

import re
import threading
import time

import pytest

from _visitor import LOOPBACK, STUDENT, as_visitor, fake_home, imagenet_missing, open_view, page_text, server_strings
from inception_viz import heavy, limits, trust
from inception_viz.views import VIEWS

# ---------------------------------------------------------------------------------------
# the rule


@pytest.mark.parametrize("raw, shared", [
    ("1", True), ("true", True), ("YES", True), (" on ", True), ("ture", True), ("2", True),
    ("", False), ("0", False), ("false", False), ("No", False), ("off", False),
])
def test_shared_mode_from_the_environment(raw, shared):
    assert trust.shared_mode({trust.ENV_VAR: raw}) is shared
    assert trust.shared_mode({}) is False


LOCAL = [("host", "localhost:8501"), ("origin", "http://localhost:8501")]


@pytest.mark.parametrize("peer, headers, address, trusted", [
    ("127.0.0.1", LOCAL, None, True),  # streamlit run app.py; the lecturer at localhost
    ("127.0.0.1", LOCAL, "", True),
    ("127.0.0.1", LOCAL, "0.0.0.0", True),
    ("::1", [("host", "[::1]:8501")], "::", True),
    ("::ffff:127.0.0.1", [("host", "127.0.0.1:8501")], "127.0.0.1", True),
    ("127.0.0.5", [("host", "app.localhost:8501")], "localhost", True),
    ("127.0.0.1", LOCAL, "192.168.1.10", False),  # bound elsewhere: a loopback peer is a relay
    ("192.168.1.23", LOCAL, None, False),  # a student on the LAN
    (None, LOCAL, None, False),  # unknown peer
    ("not an ip", LOCAL, None, False),
    (object(), LOCAL, None, False),  # AppTest's stand-in
    ("127.0.0.1", LOCAL + [("x-forwarded-for", "127.0.0.1")], None, False),  # proxy evidence
    ("127.0.0.1", LOCAL + [("Via", "1.1 haproxy")], None, False),
    ("127.0.0.1", LOCAL + [("forwarded", "for=10.0.0.2")], None, False),
    ("127.0.0.1", [("host", "hall.example.org")], None, False),  # proxy keeping the public name
    ("127.0.0.1", [("host", "localhost:8501"), ("origin", "http://rebind.example:8501")], None, False),
    ("127.0.0.1", [], None, False),  # no Host header
    ("127.0.0.1", [("host", "localhost"), ("host", "evil")], None, False),
])
def test_local_mode_trusts_only_a_loopback_browser(peer, headers, address, trusted):
    t = trust.decide(False, peer, headers, address)
    assert t.trusted is trusted, t.reason
    assert t.shared is False


def test_shared_mode_trusts_even_the_loopback_browser():
    t = trust.decide(True, "127.0.0.1", LOCAL, None)
    assert (t.shared, t.trusted) == (True, False)


def test_current_reads_the_environment_and_the_connection(monkeypatch):
    as_visitor(monkeypatch, LOOPBACK, shared=False)
    assert trust.current().trusted  # outside a script run server.address is unset
    as_visitor(monkeypatch, LOOPBACK, shared=True)
    assert not trust.current().trusted
    as_visitor(monkeypatch, STUDENT, shared=False)
    assert not trust.current().trusted


def test_redact_removes_paths_folders_and_the_account():
    secrets = ("/home/lecturerqx/.cache/inception_viz", "/home/lecturerqx", "/tmp", "lecturerqx")
    text = ("copy the file into /home/lecturerqx/.cache/inception_viz or /srv/x/y.onnx; /tmp/k.keras; "
            "user lecturerqx; ~lecturerqx; on /GPU:0 at 12.5 GFLOP/s; 40 / 10")
    out = trust.redact(text, secrets)
    assert "lecturerqx" not in out and "/srv" not in out and "/tmp" not in out
    assert "/GPU:0" in out and "GFLOP/s" in out and "40 / 10" in out  # not paths
    assert trust.redact("/etc/passwd", ()) == "<server path>"


# ---------------------------------------------------------------------------------------
# the queue of heavy requests


def test_gate_is_first_come_first_served_with_one_per_session():
    gate = heavy.HeavyGate(slots=1)
    a = gate.join("a", "build")
    assert gate.wait(a, 0)
    b, c = gate.join("b", "prediction"), gate.join("c", "build")
    assert (gate.ahead(a), gate.ahead(b), gate.ahead(c)) == (0, 1, 2)  # "waiting for 2 other"
    with pytest.raises(heavy.Busy, match="build"):
        gate.join("a", "prediction")  # one heavy request per session
    assert not gate.wait(c, 0.01)  # c must wait behind a and b
    order: list[str] = []

    def run(t):
        assert gate.wait(t, 5)
        order.append(t.session)
        gate.leave(t)

    threads = [threading.Thread(target=run, args=(t,)) for t in (c, b)]  # c asks first
    for th in threads:
        th.start()
    time.sleep(0.05)
    assert order == []  # a still runs
    gate.leave(a)
    for th in threads:
        th.join(5)
    assert order == ["b", "c"]  # arrival order, not the order of asking
    assert gate.counts() == (0, 0)


def test_an_interrupted_wait_keeps_its_place_with_its_sequence_number():
    gate = heavy.HeavyGate(slots=1)
    first = gate.join("x", "build")
    gate.wait(first, 0)
    b = gate.join("b", "build")
    c = gate.join("c", "build")
    gate.leave(b)  # b's script was interrupted by a click...
    b2 = gate.join("b", "build", seq=b.seq)  # ...and its rerun comes back
    assert gate.ahead(b2) == 1 and gate.ahead(c) == 2


def test_gate_slots_and_defaults():
    gate = heavy.HeavyGate(slots=2)
    t1, t2, t3 = (gate.join(s, "build") for s in "123")
    assert gate.wait(t1, 0) and gate.wait(t2, 0) and not gate.wait(t3, 0)
    assert gate.ahead(t3) == 2
    assert [heavy.default_slots(n) for n in (1, 2, 4, 8, 16, 64)] == [1, 1, 1, 2, 4, 4]
    with pytest.raises(ValueError):
        heavy.HeavyGate(0)


def test_shared_mode_lowers_the_model_memory_limit():
    assert limits.max_model_mb({}) == 4096
    assert limits.max_model_mb({trust.ENV_VAR: "1"}) == 1024
    assert limits.max_model_mb({trust.ENV_VAR: "1", limits.ENV_VAR: "2048"}) == 2048
    # GoogLeNet at 224x224 (about 90 MB) still fits the shared limit
    from inception_viz.presets import preset

    limits.check_buildable(preset("googlenet"), limit_mb=limits.SHARED_MAX_MODEL_MB)


# ---------------------------------------------------------------------------------------
# the pages: every view, shared mode and a student in local mode


def assert_no_server_strings(text: str, where: dict[str, str]) -> None:
    for s in [where["home"], where["cache"], *server_strings()]:
        if "/" in s:
            assert s not in text, s
        else:  # an account name, as a word
            assert not re.search(rf"(?<![\w]){re.escape(s)}(?![\w])", text), s


@pytest.mark.parametrize("shared, connection", [(True, LOOPBACK), (False, STUDENT)], ids=["shared", "local-student"])
def test_untrusted_pages_name_no_server_path_and_offer_no_path_field(monkeypatch, tmp_path, shared, connection):
    where = fake_home(monkeypatch, tmp_path)
    as_visitor(monkeypatch, connection, shared=shared)
    for view in VIEWS:
        at = open_view(view.key)
        assert not at.exception, (view.key, at.exception)
        if view.key == "predictions":
            imagenet_missing(at)
            assert any("python -m inception_viz weights download" in i.value for i in at.info)
        assert not [t for t in at.text_input if "path" in t.label.lower()], view.key
        assert not [b for b in at.button if "Download from the ONNX Model Zoo" in b.label], view.key
        assert_no_server_strings(page_text(at), where)


def test_the_lecturers_own_browser_keeps_the_path_field(monkeypatch, tmp_path):
    where = fake_home(monkeypatch, tmp_path)
    as_visitor(monkeypatch, LOOPBACK, shared=False)
    at = imagenet_missing(open_view("predictions"))
    assert at.text_input(key="pred-zoo-path")
    assert at.button(key="pred-download")
    assert where["cache"] in page_text(at)  # the check above can find the folder


def test_an_exception_shows_no_traceback_to_an_untrusted_visitor(monkeypatch, tmp_path):
    """A failure outside every view's guard (here: counting the model, before any view)
    reaches app.shielded(): an untrusted visitor sees its type only, the lecturer's own
    browser the traceback."""
    where = fake_home(monkeypatch, tmp_path)
    import app
    from inception_viz import counter

    def boom(spec):
        raise RuntimeError(f"cannot open {where['cache']}/secret.bin for {where['user']}")

    monkeypatch.setattr(counter, "analyze", boom)
    assert app.counter.analyze is boom
    as_visitor(monkeypatch, STUDENT, shared=False)
    at = open_view("charts")
    assert len(at.exception) == 1, at.exception  # tests still see that the page failed
    shown = at.exception[0]
    assert "Something went wrong on the server (RuntimeError)" in shown.message and not shown.stack_trace
    assert_no_server_strings(page_text(at), where)
    as_visitor(monkeypatch, LOOPBACK, shared=False)  # the lecturer sees the traceback
    at = open_view("charts")
    assert at.exception and where["cache"] in at.exception[0].message


def test_a_failing_view_shows_one_line_and_no_server_strings_to_anyone(monkeypatch, tmp_path):
    """A view that fails stays inside its tab (app.guarded, issue 18): one generic line, the
    traceback in the server's log only, for every visitor; the rest of the page renders."""
    where = fake_home(monkeypatch, tmp_path)
    from inception_viz.views import charts

    def boom(ctx):
        raise RuntimeError(f"cannot open {where['cache']}/secret.bin for {where['user']}")

    monkeypatch.setattr(charts, "render", boom)
    for visitor in (STUDENT, LOOPBACK):
        as_visitor(monkeypatch, visitor, shared=False)
        at = open_view("charts")
        assert not at.exception, at.exception
        assert [e.value for e in at.error if "failed unexpectedly" in e.value], [e.value for e in at.error]
        assert_no_server_strings(page_text(at), where)
        assert at.metric  # the headline still renders


# ---------------------------------------------------------------------------------------
# the queue on the page (views.common.heavy)


def _heavy_script():
    import streamlit as st

    from inception_viz.views.common import heavy

    with heavy("build"):
        st.write("built")


def _spy_placeholders(monkeypatch, on_first) -> list[str]:
    """What the heavy section's placeholder said while it waited; ``on_first()`` runs once,
    after the first message (so the test releases the queue only once the page showed it)."""
    import streamlit as st

    said: list[str] = []
    real = st.empty

    def say(show, body, **k):
        said.append(body)
        if len(said) == 1:
            on_first()
        return show(body, **k)

    def empty():
        ph = real()
        for kind in ("info", "warning"):
            show = getattr(ph, kind)
            setattr(ph, kind, lambda body, _show=show, **k: say(_show, body, **k))
        return ph

    monkeypatch.setattr(st, "empty", empty)
    return said


@pytest.mark.parametrize("holder", ["another session", "this session"])
def test_a_waiting_visitor_sees_the_queue_and_then_runs(monkeypatch, holder):
    from streamlit.testing.v1 import AppTest

    gate = heavy.HeavyGate(slots=1)
    monkeypatch.setattr(heavy, "GATE", gate)
    session = "test session id" if holder == "this session" else "student-7"  # AppTest's session id
    other = gate.join(session, "prediction")
    assert gate.wait(other, 0)
    queued = gate.join("student-8", "build") if holder == "another session" else None  # one more in line

    def release():
        def run():
            gate.leave(other)
            if queued is not None:
                assert gate.wait(queued, 5)
                gate.leave(queued)

        threading.Thread(target=run).start()

    said = _spy_placeholders(monkeypatch, release)
    at = AppTest.from_function(_heavy_script, default_timeout=30).run()
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown] == ["built"]
    if holder == "another session":
        assert said[0] == ("Waiting for 2 other heavy requests (model builds, predictions, Grad-CAM) to finish: "
                           "your build is number 3 in the queue."), said
    else:  # a second request of the same session while its first still runs elsewhere
        assert said[0].startswith("Your prediction is still running: one heavy request at a time per visitor"), said
    assert gate.counts() == (0, 0)
