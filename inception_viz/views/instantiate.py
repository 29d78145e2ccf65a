"""Instantiate: build the model on a TensorFlow device, ``summary()``, latency per block,
``.keras`` and ONNX downloads. TensorFlow is imported only once its switch is on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import config, figures, limits
from ..counter import fmt_int
from ..spec import SpecError
from .common import PERSIST, build_model, chart, error, heavy, keras_model_module, model_downloads
from .context import ViewContext


#: The largest batch the latency input offers (fewer when the memory limit allows fewer).
MAX_PROFILE_BATCH = 64


def _summary(model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *a, **k: lines.append(line), line_length=110)
    return "\n".join(lines)


def render(ctx: ViewContext) -> None:
    spec, report = ctx.spec, ctx.report
    st.caption("Builds the model with Keras 3 (TensorFlow backend). TensorFlow loads (a few seconds) only when you turn this on.")
    if not st.toggle("Load TensorFlow", key="tf-on", persist_state=PERSIST):
        return
    with st.spinner("Loading TensorFlow…"):
        devices = keras_model_module().available_devices()
    c1, c2 = st.columns([2, 1])
    device = c1.selectbox("Device", devices, key="tf-device", persist_state=PERSIST,
                          help="What TensorFlow sees: the CPU always, GPUs when present")
    key_text = config.dumps_config(spec)
    built_key = (key_text, device)
    if c2.button("Build", type="primary", width="stretch"):
        st.session_state.built = built_key
    if st.session_state.get("built") != built_key:
        st.info(f"Press Build to create {spec.name} ({fmt_int(report.total_params)} params) on {device}.")
        return
    try:
        with heavy("build"):
            model = build_model(spec, device)
    except SpecError as exc:
        error(exc)
        return
    st.success(f"Built on {device}: Keras count_params() = {fmt_int(model.count_params())} "
               f"(the counter: {fmt_int(report.total_params)}).")
    with st.expander("model.summary()"):
        st.code(_summary(model), language=None)
    from inception_viz import weights as W

    model_downloads(spec, W.random_weights(0), model)  # build_model seeds with 0
    if report.blocks:
        latency_ui(spec, model, device, built_key)


def latency_ui(spec, model, device: str, built_key) -> None:
    st.subheader("Latency per block")
    fits = min(MAX_PROFILE_BATCH, limits.max_batch(spec, purpose="profile"))
    if fits < 1:
        st.warning(f"Not even a batch of one image fits the memory limit ({limits.ENV_VAR} = "
                   f"{limits.max_model_mb():,} MB) for timing every block: reduce widths or the input size.")
        return
    c1, c2 = st.columns(2)
    # the key carries the cap, so a batch accepted for a smaller model never overflows this one
    batch = c1.number_input("Batch size", 1, fits, 1, key=f"prof-batch:{fits}", persist_state=PERSIST,
                            help=f"At most {fits}: larger batches would not fit the memory limit ({limits.ENV_VAR})"
                            if fits < MAX_PROFILE_BATCH else f"At most {MAX_PROFILE_BATCH}")
    repeats = c2.number_input("Timed runs (median)", 1, 100, 10, key="prof-repeats", persist_state=PERSIST)
    if st.button("Measure latency per block"):
        from inception_viz import profile

        try:
            with heavy("latency profile"), st.spinner(f"Timing every block on {device}…"):
                st.session_state.timings = (built_key, profile.profile_blocks(model, spec, device, int(batch), int(repeats)))
        except SpecError as exc:
            error(exc)
    timings = st.session_state.get("timings")
    if timings and timings[0] == built_key:
        rows = [{"block": t.name, "MACs per image": fmt_int(t.macs), "batch": t.batch,
                 "median ms": round(t.ms, 3), "GFLOP/s (2 x MACs / time)": round(t.gflops, 1)} for t in timings[1]]
        st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)
        chart(figures.latency_figure([t for t in timings[1] if t.name in spec.block_names]), "chart-latency")
        st.caption("Measured now, on this machine; numbers vary with load. One multiply-add = 2 FLOPs.")
