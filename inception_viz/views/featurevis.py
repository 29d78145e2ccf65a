"""Feature visualisation: the image a channel, a branch, a whole layer or a class of the
current model responds to most, formed live in front of the class (the method and its
reference: :mod:`inception_viz.featurevis`).

The lecturer picks the weights (the same widget as Predictions), one target (block ->
branch or concat -> channel, any layer, a class by name, or typed as the CLI's
``LAYER:CHANNEL``) or a grid of N consecutive channels (one batch), steps, size and seed,
and presses *Visualise*: a progress bar moves at every step and the image(s) update every
few steps (:func:`frame_every`).

**How Stop works.** A script run blocks while it optimises, so no widget callback can set
a flag during it. But any click in the page (Stop, or any other widget) asks for a new run.
The optimiser's ``should_stop`` hook (before every step) ends this run as soon as one is
waiting (:func:`~inception_viz.views.common.yield_to_visitor`: Streamlit would do that by
itself at the next ``st.*`` call of a whole-page run, but this view runs in a fragment), and
moves the progress bar (at most :data:`HEARTBEAT_S` apart). Every frame is put in session
state before it is drawn, so the new run shows the last one: "stopped after k of N steps".

**Caching.** Finished results (not stopped ones) go into :data:`RESULTS`, one process-wide
:class:`~inception_viz.featurevis.ResultCache` keyed by
:func:`~inception_viz.featurevis.result_key_for` (model, weights, targets, settings; the
same key gives the same PNGs, bit for bit, so sessions share it). Its key needs no model,
so coming back to a finished target shows it at once, without TensorFlow.

**Heavy work** is one function, :func:`run_visualisation` (build or reuse the model, run the
optimiser): the place for a per-session queue or a memory check to wrap.
"""

from __future__ import annotations

import time

import streamlit as st

from .. import featurevis as fv
from ..i18n import N_, _, current, ngettext
from ..spec import SpecError
from .common import PERSIST, error, fmt_g, get_runner, heavy, yield_to_visitor
from .context import ViewContext
from .predictions import weights_ui

#: The CLI's note (:data:`~inception_viz.cli_featurevis.RANDOM_FEATUREVIS_NOTE`) as a sentence
#: (a test holds the two equal).
RANDOM_NOTE = N_("These weights are random: an untrained network has no features, so this picture shows the method "
                 "at work, not what a trained network has learned.")
#: Finished results of every session (images only: 64 MiB is ~450 images of 224 px).
RESULTS = fv.ResultCache(max_bytes=64 * 2**20)
#: The progress bar moves at least this often (seconds) while a run optimises: each move is
#: where Streamlit can end the run after a click (see the module docstring).
HEARTBEAT_S = 0.25
#: The app's limits (the method allows more; a lecture needs no more, a shared server no more).
MAX_APP_STEPS = 4096
MAX_APP_SIZE = 512
MAX_GRID = 32
DEFAULT_GRID = 8
DEFAULT_GRID_SIZE = 96

# Option values (English msgids, drawn translated with format_func; widget values stay English).
MODES = (N_("One image"), N_("A grid of channels"))
ANY_LAYER = N_("Any layer (stem, reductions, pools…)")
CLASSES = N_("A class (the classifier's logit)")
TYPED = N_("Type a target (as the CLI)…")
OBJECTIVE_HELP = N_("channel: the mean of one channel's map · neuron: its centre unit · branch: the whole branch "
                    "(mean of squares of its output) · layer: the whole layer (DeepDream, mean of squares) · "
                    "class: the pre-softmax logit")
INTRO = N_("The image this part of the network responds to most, found by gradient ascent from a near-grey image: "
           "a decorrelated Fourier image with random jitter, scale and rotation at every step (Olah, Mordvintsev & "
           "Schubert, *Feature Visualization*, Distill 2017, worked out on this very network: their `mixed4c` is our "
           "`inception_4c`). The PNG is exactly what the network is fed.")
#: Objective names as shown (the values stay the method's names).
OBJECTIVE_NAMES = {"auto": N_("auto"), "channel": N_("channel"), "neuron": N_("neuron"), "branch": N_("branch"),
                   "layer": N_("layer"), "class": N_("class")}


def _objective_name(o: str, tr=None) -> str:
    """An objective's name in ``tr``'s language (default: the session's). A widget's
    ``format_func`` gets ``tr`` bound at render time (AppTest calls it outside the run)."""
    return (tr or current()).gettext(OBJECTIVE_NAMES[o])


def frame_every(steps: int) -> int:
    """Steps between two image updates: about 32 updates per run, every 1 to 16 steps."""
    return max(1, min(16, steps // 32))


class Result:
    """What :data:`RESULTS` keeps: the finished frame and the note about its weights."""

    __slots__ = ("frame", "note")

    def __init__(self, frame: fv.Frame, note: str | None):
        self.frame, self.note = frame, note


# ---------------------------------------------------------------------------------------
# choosing


def settings_ui(spec, grid: bool) -> fv.Settings:
    c1, c2, c3, c4 = st.columns(4)
    steps = c1.number_input(_("Steps"), 1, MAX_APP_STEPS, 256, 32, key="fv-steps", persist_state=PERSIST,
                            help=_("Adam steps; 256 is the Distill article's usual budget"))
    side = spec.input_shape[0]
    size = c2.number_input(_("Size (pixels per side)"), fv.MIN_SIZE, MAX_APP_SIZE,
                           min(DEFAULT_GRID_SIZE, side) if grid else min(side, MAX_APP_SIZE), 16,
                           key="fv-grid-size" if grid else "fv-size", persist_state=PERSIST,
                           help=_("The network runs at this size; {side} is its input side. Smaller is faster.").format(side=side))
    seed = c3.number_input(_("Seed"), 0, 2**31 - 1, 0, 1, key="fv-seed", persist_state=PERSIST,
                           help=_("The same seed gives the same PNG, byte for byte"))
    fourier = c4.toggle(_("Fourier basis, decorrelated colours"), True, key="fv-fourier", persist_state=PERSIST,
                        help=_("Off: plain gradient ascent on pixels, for comparison; it answers with "
                               "high-frequency noise"))
    return fv.Settings(steps=int(steps), size=int(size), seed=int(seed), fourier=fourier, decorrelate=fourier)


def _class_labels(classes: int) -> tuple[str, ...]:
    from inception_viz.inference import load_labels  # imports TensorFlow

    return load_labels(classes)


def target_ui(spec, report, grid: bool) -> list[fv.Target] | None:
    """The chosen target(s): one, or the consecutive channels of a grid; ``None`` while a
    typed target is empty. Raises :class:`SpecError` (one line) for a bad one."""
    tr = current()
    classifier = fv.classifier_name(spec)
    groups = [*spec.block_names, ANY_LAYER, *([CLASSES] if classifier else []), TYPED]
    c1, c2, c3, c4 = st.columns(4)
    named = (ANY_LAYER, CLASSES, TYPED)
    group = c1.selectbox(_("Visualise"), groups, index=groups.index("inception_4c") if "inception_4c" in groups else 0,
                         key="fv-group", persist_state=PERSIST, format_func=lambda g: tr.gettext(g) if g in named else g,
                         help=_("A block (then its branch or its concat), any layer, a class, or a typed target"))
    branch = None
    if group == TYPED:
        text = c2.text_input(_("Layer") if grid else _("Target"), key=f"fv-typed-{'grid' if grid else 'one'}",
                             persist_state=PERSIST,
                             placeholder="inception_4c" if grid else "inception_4c:97",  # i18n: keep
                             help=_("Any layer `table` lists; LAYER:CHANNEL, LAYER:BRANCH (inception_4c:3x3), "
                                    "LAYER alone for the layer objective, linear:K for class K"))
        choice = c3.selectbox(_("Objective"), ("auto", *(o for o in fv.OBJECTIVES if not grid or o in fv.INDEXED)),
                              key=f"fv-typed-objective-{'grid' if grid else 'one'}", persist_state=PERSIST,
                              format_func=lambda o: _objective_name(o, tr),
                              help=_("auto: class on the classifier, branch for a branch key, channel otherwise.")
                              + " " + _(OBJECTIVE_HELP))
        objective = None if choice == "auto" else choice
        if not text.strip():
            st.info(_("Type a layer, e.g. inception_4c (its first channels)") if grid
                    else _("Type a target, e.g. inception_4c:97"))
            return None
        if not grid:
            return [fv.parse_target(spec, text, objective)]
        layer = text.strip()
        if objective is None:
            objective = "class" if layer == classifier else "channel"
    else:
        if group == CLASSES:
            layer, objectives = classifier, ("class",)
        elif group == ANY_LAYER:
            names = [n for n in fv.layer_names(report) if n != classifier and report.row(n).kind != "softmax"]
            layer = c2.selectbox(_("Layer"), names, key="fv-layer", persist_state=PERSIST)
            objectives = ("channel", "neuron", "layer")
        else:
            branches = spec.block(group).branch_layers
            part = c2.selectbox(_("Part"), ("concat", *branches), key=f"fv-part:{group}", persist_state=PERSIST,
                                format_func=lambda p: tr.gettext("concat ({block}, the block's output)").format(block=group)
                                if p == "concat" else tr.gettext("branch {key} ({layer})").format(key=p, layer=branches[p]))
            layer = group if part == "concat" else branches[part]
            objectives = ("channel", "neuron", "layer") if part == "concat" else ("channel", "neuron", "branch")
            branch = None if part == "concat" else part
        if grid:
            objectives = tuple(o for o in objectives if o in fv.INDEXED)
        objective = c3.selectbox(_("Objective"), objectives, key=f"fv-objective:{'/'.join(objectives)}",
                                 persist_state=PERSIST, format_func=lambda o: _objective_name(o, tr), help=_(OBJECTIVE_HELP))
    if grid:
        total = spec.classes if objective == "class" else (report.row(layer).output_shape[2]
                                                           if layer in fv.layer_names(report) else 1)
        label = _("From class (0–{last})") if objective == "class" else _("From channel (0–{last})")
        first = c4.number_input(label.format(last=total - 1), 0, max(0, total - 1), 0, DEFAULT_GRID,
                                key=f"fv-first:{layer}:{objective}:{total}", persist_state=PERSIST)
        n = st.slider(_("Images in the grid (one batch)"), 1, MAX_GRID, DEFAULT_GRID, key="fv-grid-n",
                      persist_state=PERSIST, help=_("Channels first … first + N - 1; at most {pixels} pixels per batch")
                      .format(pixels=current().int(fv.MAX_BATCH_PIXELS)))
        return fv.channel_targets(spec, layer, int(n), int(first), objective)
    if objective == "branch":
        return [fv.make_target(spec, group, branch, "branch")]
    if objective == "layer":
        return [fv.make_target(spec, layer, None, "layer")]
    if objective == "class":
        labels = _class_labels(spec.classes)
        cls = c4.selectbox(_("Class (type to search)"), range(spec.classes), key=f"fv-class:{spec.classes}",
                           persist_state=PERSIST, format_func=lambda i: f"{i}: {labels[i]}")
        return [fv.make_target(spec, layer, int(cls), "class")]
    n = report.row(layer).output_shape[2]
    # the key carries the layer and its width, so a channel valid for one layer (or for the
    # layer before an edit narrowed it) never overflows another
    channel = c4.number_input(_("Channel (0–{last})").format(last=n - 1), 0, n - 1, 0, 1, key=f"fv-channel:{layer}:{n}",
                              persist_state=PERSIST)
    return [fv.make_target(spec, layer, int(channel), objective)]


# ---------------------------------------------------------------------------------------
# running and showing


class _Heartbeat:
    """``should_stop`` for :func:`featurevis.visualize_steps`: called before every step, it
    moves the progress bar at most every :data:`HEARTBEAT_S` seconds and never asks to
    stop itself. The bar's update is a Streamlit call: after a click (Stop or any widget),
    Streamlit ends this script run right there."""

    def __init__(self, bar, steps: int, label: str):
        self.bar, self.steps, self.label = bar, steps, label
        self.step = 0  # steps done
        self.last = time.monotonic()
        self.t0 = self.last

    def __call__(self) -> bool:
        yield_to_visitor()  # a click since the run started ends it here, within one step
        now = time.monotonic()
        if now - self.last >= HEARTBEAT_S:
            self.last = now
            self.bar.progress(self.step / self.steps, text=_("{target}: step {step} of {steps} ({seconds} s)").format(
                target=self.label, step=self.step, steps=self.steps, seconds=current().decimal(now - self.t0, 1)))
        self.step += 1
        return False


def run_visualisation(spec, weights, targets, settings, on_frame, should_stop) -> Result:
    """THE heavy request of this view: build (or reuse) the model with ``weights`` and
    optimise all ``targets`` in one batch to the end; ``on_frame`` sees every frame.
    TensorFlow is imported here."""
    runner = get_runner(spec, weights)
    frame = fv.visualize(runner, targets, settings, every=frame_every(settings.steps), on_frame=on_frame,
                         should_stop=should_stop)
    return Result(frame, None if not weights.trained else runner.note)


def _caption(frame: fv.Frame, settings: fv.Settings) -> str:
    t = frame.targets[0]
    what = fv.target_text(t, current()) if len(frame.targets) == 1 else (
        f"{t.layer} {_objective_name(t.objective)} {frame.targets[0].channel}–{frame.targets[-1].channel}")
    state = (_("{what}, after {step} of {steps} steps") if frame.done and not frame.stopped
             else _("{what}, stopped after {step} of {steps} steps"))
    text = _("{state}; {size}x{size} px, seed {seed}").format(
        state=state.format(what=what, step=frame.step, steps=frame.steps), size=settings.size, seed=settings.seed)
    if frame.done and frame.objective_end is not None and len(frame.targets) == 1:
        tr = current()
        text += _("; objective {start} → {end}").format(start=fmt_g(frame.objective_start[0], tr, ".4g"),
                                                          end=fmt_g(frame.objective_end[0], tr, ".4g"))
    return text


def _tile_width(size: int) -> int:
    return max(96, min(size, 192))


def _single_width(size: int) -> int:
    return max(256, min(size * 2, 448))


def _draw_images(slot, frame: fv.Frame, settings: fv.Settings, grid: bool) -> None:
    if grid:
        slot.image(list(frame.images), caption=[_short(t) for t in frame.targets], width=_tile_width(settings.size),
                   output_format="PNG")
    else:
        slot.image(frame.images[0], caption=_caption(frame, settings), width=_single_width(settings.size),
                   output_format="PNG")


def _short(t: fv.Target, tr=None) -> str:
    tr = tr or current()
    return (tr.gettext("class {n}") if t.objective == "class" else tr.gettext("channel {n}")).format(n=t.channel)


def _file_stem(t: fv.Target, settings: fv.Settings) -> str:
    part = "" if t.channel is None else f"_{t.channel}"
    return f"featurevis_{t.layer}{part}_{t.objective}_{settings.size}px_seed{settings.seed}"


def show_result(frame: fv.Frame, settings: fv.Settings, grid: bool, note: str | None, cached: bool) -> None:
    """A finished (or stopped) result: the image(s), what they are, PNG downloads."""
    if note:
        st.warning(_(note))  # a msgid of inception_viz.weights (N_)
    _draw_images(st, frame, settings, grid)
    t0 = frame.targets[0]
    tr = current()
    tail = " " + _("Shown from the cache: computed earlier with these exact settings.") if cached else ""
    if grid:
        st.caption(_caption(frame, settings) + "; " + _("{seconds} s for all {n} in one batch.").format(
            seconds=tr.decimal(frame.seconds, 1), n=len(frame.targets)) + tail)
        c1, c2, c3 = st.columns([1, 1, 1])
        last = frame.targets[-1]
        c1.download_button(_("Download the grid (PNG)"), frame.grid_png(), width="stretch", mime="image/png",
                           file_name=f"{_file_stem(t0, settings)}-{last.channel}_grid.png", key="fv-dl-grid")
        i = c2.selectbox(_("Enlarge one"), range(len(frame.targets)), key=f"fv-pick:{t0.layer}:{t0.objective}:{len(frame.targets)}",
                         persist_state=PERSIST, format_func=lambda i: _short(frame.targets[i], tr))
        i = min(int(i), len(frame.targets) - 1)
        c3.download_button(_("Download {image} (PNG)").format(image=_short(frame.targets[i])), frame.png(i), width="stretch",
                           mime="image/png", file_name=_file_stem(frame.targets[i], settings) + ".png", key="fv-dl-one")
        st.image(frame.images[i], width=_single_width(settings.size), output_format="PNG",
                 caption=f"{fv.target_text(frame.targets[i], tr)}: {settings.size}x{settings.size} px")  # i18n: keep
    else:
        st.caption(_("{target}, {objective} objective; {seconds} s.").format(
            target=fv.target_text(t0, tr), objective=_objective_name(t0.objective), seconds=tr.decimal(frame.seconds, 1)) + tail)
        st.download_button(_("Download PNG"), frame.png(0), mime="image/png", key="fv-dl",
                           file_name=_file_stem(t0, settings) + ".png")


def run_ui(spec, weights, targets, settings, grid: bool) -> None:
    key = fv.result_key_for(spec, weights, targets, settings)
    found = RESULTS.get(key)
    c1, c2, c3 = st.columns([1, 1, 4])
    go = c1.button(_("Visualise"), type="primary", key="fv-go", width="stretch")
    running = go and found is None
    c2.button(_("Stop"), key="fv-stop", disabled=not running, width="stretch",
              help=_("Ends the run and keeps the last image"))
    n = len(targets)
    every = frame_every(settings.steps)
    c3.caption(ngettext("{n} image of {size}x{size} px, {steps} steps", "{n} images of {size}x{size} px, {steps} steps", n)
               .format(n=n, size=settings.size, steps=settings.steps) + "; "
               + ngettext("updated every {every} step", "updated every {every} steps", every).format(every=every) + ". "
               + _("Any click in the page stops a run."))
    if running:
        bar = st.progress(0.0, text=_("Starting…"))
        slot = st.empty()
        label = fv.target_text(targets[0], current()) if n == 1 else _("{n} channels of {layer}").format(n=n, layer=targets[0].layer)
        tr = current()

        def on_frame(frame: fv.Frame) -> None:
            st.session_state["fv-last"] = (key, frame)  # first: a click may end the run at the next call
            bar.progress(frame.progress, text=_("{target}: step {step} of {steps}, objective {value} ({seconds} s)").format(
                target=label, step=frame.step, steps=frame.steps, value=fmt_g(frame.objective[0], current(), ".4g"),
                seconds=tr.decimal(frame.seconds, 1)))
            if not frame.done:
                _draw_images(slot, frame, settings, grid)

        try:
            with heavy(N_("feature visualisation")):
                result = run_visualisation(spec, weights, targets, settings, on_frame,
                                           _Heartbeat(bar, settings.steps, label))
        except SpecError as exc:
            error(exc)
            return
        bar.empty()
        slot.empty()
        if result.frame.done and not result.frame.stopped:
            RESULTS.put(key, result)
        show_result(result.frame, settings, grid, result.note, cached=False)
        return
    if found is not None:
        show_result(found.frame, settings, grid, found.note, cached=True)
        return
    last = st.session_state.get("fv-last")
    if last is not None and last[0] == key:
        st.info(_("Stopped after {step} of {steps} steps: this is the last image. Press Visualise to run again "
                  "from the start.").format(step=last[1].step, steps=last[1].steps))
        show_result(last[1], settings, grid, None, cached=False)
        return
    st.info(_("Press Visualise to watch the image form.") if n == 1
            else _("Press Visualise to compute all {n} images in one batch.").format(n=n))


def render(ctx: ViewContext) -> None:
    """Feature visualisation of the current model: one target or a grid of channels."""
    spec = ctx.spec
    h, w, c = spec.input_shape
    if c not in (1, 3):
        st.info(_("The {name} model takes {h}x{w}x{c} inputs, not images, so there is no picture to draw. "
                  "Choose a preset with an image input (googlenet, simplified or naive).").format(name=spec.name, h=h, w=w, c=c))
        return
    st.caption(_(INTRO))
    weights = weights_ui("fv")
    if weights is None:
        return
    if not weights.trained:
        st.warning(_(RANDOM_NOTE))
    grid = st.radio(_("Show"), MODES, key="fv-mode", persist_state=PERSIST, horizontal=True,
                    format_func=current().gettext) == MODES[1]  # bound now: AppTest calls it outside the run
    target_area = st.container()
    settings = settings_ui(spec, grid)
    try:
        with target_area:
            targets = target_ui(spec, ctx.report, grid)
        if targets is None:
            return
        settings = fv.check_request(spec, targets, settings)
    except SpecError as exc:
        error(exc)
        return
    run_ui(spec, weights, targets, settings, grid)
