"""Instantiate: build the model on a TensorFlow device, ``summary()``, latency per block,
``.keras`` and ONNX downloads. TensorFlow is imported only once its switch is on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import config, figures, limits
from ..i18n import N_, _, current
from ..spec import SpecError
from .common import PERSIST, build_model, chart, error, heavy, keras_model_module, model_downloads
from .context import ViewContext

#: The latency table's columns (msgids; translated where the table is drawn).
LATENCY_COLUMNS = {
    "block": N_("block"), "macs": N_("MACs per image"), "batch": N_("batch"), "ms": N_("median ms"),
    "gflops": N_("GFLOP/s (2 x MACs / time)"),
}


#: The largest batch the latency input offers (fewer when the memory limit allows fewer).
MAX_PROFILE_BATCH = 64


def _summary(model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *a, **k: lines.append(line), line_length=110)
    return "\n".join(lines)


def render(ctx: ViewContext) -> None:
    spec, report = ctx.spec, ctx.report
    tr = current()
    st.caption(_("Builds the model with Keras 3 (TensorFlow backend). TensorFlow loads (a few seconds) only when you turn this on."))
    if not st.toggle(_("Load TensorFlow"), key="tf-on", persist_state=PERSIST):
        return
    with st.spinner(_("Loading TensorFlow…")):
        devices = keras_model_module().available_devices()
    c1, c2 = st.columns([2, 1])
    device = c1.selectbox(_("Device"), devices, key="tf-device", persist_state=PERSIST,
                          help=_("What TensorFlow sees: the CPU always, GPUs when present"))
    key_text = config.dumps_config(spec)
    built_key = (key_text, device)
    if c2.button(_("Build"), type="primary", width="stretch"):
        st.session_state.built = built_key
    if st.session_state.get("built") != built_key:
        st.info(_("Press Build to create {name} ({params} params) on {device}.").format(
            name=spec.name, params=tr.int(report.total_params), device=device))
        return
    try:
        with heavy(N_("build")):
            model = build_model(spec, device)
    except SpecError as exc:
        error(exc)
        return
    st.success(_("Built on {device}: Keras count_params() = {keras} (the counter: {counter}).").format(
        device=device, keras=tr.int(model.count_params()), counter=tr.int(report.total_params)))
    with st.expander("model.summary()"):  # i18n: keep (the Keras call)
        st.code(_summary(model), language=None)
    from inception_viz import weights as W

    model_downloads(spec, W.random_weights(0), model)  # build_model seeds with 0
    if report.blocks:
        latency_ui(spec, model, device, built_key)


def latency_ui(spec, model, device: str, built_key) -> None:
    tr = current()
    st.subheader(_("Latency per block"))
    fits = min(MAX_PROFILE_BATCH, limits.max_batch(spec, purpose="profile"))
    if fits < 1:
        st.warning(_("Not even a batch of one image fits the memory limit ({var} = {mb} MB) for timing every block: "
                     "reduce widths or the input size.").format(var=limits.ENV_VAR, mb=tr.int(limits.max_model_mb())))
        return
    c1, c2 = st.columns(2)
    # the key carries the cap, so a batch accepted for a smaller model never overflows this one
    batch = c1.number_input(_("Batch size"), 1, fits, 1, key=f"prof-batch:{fits}", persist_state=PERSIST,
                            help=_("At most {n}: larger batches would not fit the memory limit ({var})").format(
                                n=fits, var=limits.ENV_VAR)
                            if fits < MAX_PROFILE_BATCH else _("At most {n}").format(n=MAX_PROFILE_BATCH))
    repeats = c2.number_input(_("Timed runs (median)"), 1, 100, 10, key="prof-repeats", persist_state=PERSIST)
    if st.button(_("Measure latency per block")):
        from inception_viz import profile

        try:
            with heavy(N_("latency profile")), st.spinner(_("Timing every block on {device}…").format(device=device)):
                st.session_state.timings = (built_key, profile.profile_blocks(model, spec, device, int(batch), int(repeats)))
        except SpecError as exc:
            error(exc)
    timings = st.session_state.get("timings")
    if timings and timings[0] == built_key:
        # English keeps numeric columns (the grid sorts them); another language gets its own
        # decimal mark, as text (the grid formats numbers the English way)
        num = (lambda x, d: round(x, d)) if tr.lang == "en" else (lambda x, d: tr.decimal(x, d))
        rows = [{"block": t.name, "macs": tr.int(t.macs), "batch": t.batch, "ms": num(t.ms, 3),
                 "gflops": num(t.gflops, 1)} for t in timings[1]]
        columns = {k: _(v) for k, v in LATENCY_COLUMNS.items()}
        st.dataframe(pd.DataFrame(rows).rename(columns=columns), width="stretch", hide_index=True)
        chart(figures.latency_figure([t for t in timings[1] if t.name in spec.block_names], tr=tr), "chart-latency")
        st.caption(_("Measured now, on this machine; numbers vary with load. One multiply-add = 2 FLOPs."))
