"""Predictions & feature maps: top-k predictions, per-branch feature-map mosaics and
Grad-CAM for an image, with random, ImageNet or uploaded weights. The sample photo shows
at once (Pillow only); TensorFlow is imported only once the view's switch is on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import graph, limits
from ..counter import fmt_int
from ..graph import shape_str
from ..spec import Dense, SpecError
from .common import (PERSIST, chart, decode_image, error, get_runner, graphviz, heavy, model_downloads, sample_image,
                     visitor_trusted, weights_from_bytes, zoo_weights)
from .context import ViewContext

WEIGHT_SOURCES = ("Random (untrained)", "ImageNet (ONNX Model Zoo GoogLeNet)", "A weights file")
#: Uploaded weights files: the zoo's googlenet-12.onnx is 26.7 MiB.
MAX_WEIGHTS_UPLOAD_MB = 64
MAX_IMAGE_UPLOAD_MB = 20
#: Each feature-map pixel is one mosaic pixel (a larger scale is checked against the memory
#: limit the same way: ``limits.check(..., purpose="activations", scale=...)``).
MOSAIC_SCALE = 1
#: The one size convention of the app (the network's and every table's): height first.
HW = "height × width"


def _zoo_missing_ui(prefix: str = "pred") -> None:
    """The ImageNet weights are not installed. A trusted visitor (the lecturer at the
    server's own browser, :mod:`inception_viz.trust`) may download them or name a copy on
    this machine; anyone else is told that the lecturer installs them, and sees no server
    path, no download button and no path field."""
    from inception_viz import weights as W

    if not visitor_trusted():
        st.info(f"The ImageNet weights ({W.ZOO_FILENAME}) are not installed on this server. The lecturer installs "
                "them before the lecture with `python -m inception_viz weights download` (or `python -m "
                f"inception_viz weights install FILE` from a USB stick). Meanwhile you can upload {W.ZOO_FILENAME} "
                f"under “{WEIGHT_SOURCES[2]}”.")
        return
    st.info(f"The ImageNet weights ({W.ZOO_FILENAME}, {fmt_int(W.ZOO_SIZE)} bytes) are not in {W.cache_dir()} yet.")
    c1, c2 = st.columns(2)
    if c1.button("Download from the ONNX Model Zoo", key=f"{prefix}-download"):
        bar = st.progress(0.0, text=f"Downloading {W.ZOO_FILENAME}…")
        try:
            W.download_zoo(progress=lambda d, t: bar.progress(min(d / t, 1.0), text=f"{fmt_int(d)} of {fmt_int(t)} bytes"))
        except SpecError as exc:
            error(exc)
            return
        st.rerun()
    local = c2.text_input("…or the path of a copy on this machine", key=f"{prefix}-zoo-path", persist_state=PERSIST,
                          placeholder="/media/usb/googlenet-12.onnx")
    if local:
        try:
            W.install_zoo_file(local.strip())
        except SpecError:
            # One message for every failure: even here, never whether the file exists or its size.
            st.error(f"{W.INSTALL_REFUSED[0].upper()}{W.INSTALL_REFUSED[1:]}.")
            return
        st.rerun()
    st.caption(f"Source: {W.ZOO_URL}. Checked against SHA-256 {W.ZOO_SHA256}. Offline: copy the file into "
               f"{W.cache_dir()} (or set INCEPTION_VIZ_CACHE), or upload it under “{WEIGHT_SOURCES[2]}”.")


def weights_ui(prefix: str = "pred"):
    """The chosen weights, or ``None`` while none are available. A bad file shows an error
    and keeps the last good weights. ``prefix`` starts the widget keys: the view that draws
    them (Feature visualisation calls this with its own)."""
    import hashlib

    from inception_viz import weights as W

    source = st.radio("Weights", WEIGHT_SOURCES, key=f"{prefix}-source", persist_state=PERSIST, horizontal=True)
    if source == WEIGHT_SOURCES[0]:
        return W.random_weights(0)
    if source == WEIGHT_SOURCES[1]:
        path = W.cached_zoo_path()
        if path is None:
            _zoo_missing_ui(prefix)
            return None
        try:
            return zoo_weights(str(path), path.stat().st_mtime_ns)
        except (SpecError, OSError) as exc:
            error(exc if visitor_trusted() else "The ImageNet weights on this server cannot be read; the lecturer "
                  "can install them again with `python -m inception_viz weights download`.")
            return None
    up = st.file_uploader("googlenet-12.onnx, or a .keras / .weights.h5 saved by this app", type=["onnx", "keras", "h5"],
                          key=f"{prefix}-weights-file", max_upload_size=MAX_WEIGHTS_UPLOAD_MB)
    if up is None:
        st.info("Upload a weights file: the ONNX Model Zoo's googlenet-12.onnx, or a .keras / .weights.h5 saved by this app.")
        return None
    data = up.getvalue()
    try:
        with heavy("weights file"):  # a .weights.h5 builds a model to load into
            weights = weights_from_bytes(hashlib.sha256(data).hexdigest(), up.name, data)
    except SpecError as exc:
        error(f"{up.name}: {exc}")
        last = st.session_state.get(f"{prefix}-good-weights")
        if last is not None:
            st.caption(f"Still using {last.label}.")
        return last
    st.session_state[f"{prefix}-good-weights"] = weights
    return weights


def image_ui():
    """``(name, rgb)`` of the chosen image: a bundled sample or an upload. A bad upload
    shows an error and keeps the last good image."""
    from inception_viz import images

    c1, c2 = st.columns([1, 2])
    sample = c1.selectbox("Sample photo", list(images.SAMPLES), key="pred-sample", persist_state=PERSIST,
                          help="Bundled photos (CC0 / public domain, see assets/README)")
    up = c2.file_uploader("…or your own image (JPEG, PNG, WebP, BMP, GIF)", type=["jpg", "jpeg", "png", "webp", "bmp", "gif"],
                          key="pred-image-file", max_upload_size=MAX_IMAGE_UPLOAD_MB)
    if up is None:
        return sample, sample_image(sample)
    try:
        rgb = decode_image(up.getvalue(), up.name)
    except SpecError as exc:
        error(exc)
        last = st.session_state.get("pred-good-image")
        if last is not None:
            st.caption(f"Still showing {last[0]}.")
            return last
        return sample, sample_image(sample)
    st.session_state["pred-good-image"] = (up.name, rgb)
    return up.name, rgb


def transfer_ui(spec, runner, trained: bool) -> None:
    """Which layers carry the loaded weights after the lecturer's edits. Untrained weights
    (a ``.keras`` saved from random weights: its metadata says so) are "loaded", never
    "pretrained"."""
    t = runner.transfer
    n_all = len(t.pretrained) + len(t.fresh)
    kept = "pretrained" if trained else "loaded"
    if not t.fresh:
        st.caption(f"All {n_all} layers with weights carry the loaded weights.")
        return
    st.warning(f"{len(t.fresh)} of {n_all} layers with weights no longer fit the loaded weights after your edits and "
               f"were freshly initialised; every other layer keeps its {kept} weights.")
    words = {s: graph.status_text(s, trained) for s in graph.WEIGHT_STATUS_STYLE}
    status = t.layer_status(spec)
    rows = [{"layer": name, "weights": words.get(s, s)} for name, s in status.items() if s != "no weights"]
    with st.expander(f"Which layers are {kept}", expanded=True):
        graphviz(graph.overview_dot(runner.report, status=status, trained=trained))
        st.markdown(
            " ".join(
                f'<span style="border:3px {"solid" if "dashed" not in style else "dashed"} {color};padding:2px 8px;'
                f'border-radius:4px;margin-right:6px">{words[s]}</span>'
                for s, (_, color, style) in graph.WEIGHT_STATUS_STYLE.items()
            ),
            unsafe_allow_html=True,
        )
        branches = runner.transfer.branch_status(spec)
        for r in rows:
            if r["layer"] in branches:
                r.update({f"branch {k}": words.get(v, v) for k, v in branches[r["layer"]].items()})
        st.dataframe(pd.DataFrame(rows).fillna(""), width="stretch", hide_index=True)


def feature_maps_ui(spec, runner, acts, shown) -> None:
    from inception_viz import images, inference

    groups = ["stem", *spec.block_names]
    c1, c2 = st.columns([2, 1])
    group = c1.selectbox("Feature maps of", groups, index=1 if spec.blocks else 0, key="pred-group", persist_state=PERSIST)
    sort = c2.radio("Channel order", ("index", "mean"), key="pred-sort", persist_state=PERSIST, horizontal=True,
                    format_func=lambda s: "as in the layer" if s == "index" else "by mean activation")
    try:  # the mosaics are images too: refuse them, not the server, when they would not fit
        limits.check(spec, purpose="activations", scale=MOSAIC_SCALE)
    except SpecError as exc:
        st.error(str(exc))
        return
    mosaics = inference.block_mosaics(acts, runner.report, group, sort=sort, scale=MOSAIC_SCALE)
    layers = inference.group_layers(spec, group)
    cols = st.columns(min(3, len(mosaics)))
    for i, (key, m) in enumerate(mosaics.items()):
        h, w = m.tile
        title = key if group == "stem" else (f"{group} (concat)" if key == "concat" else f"branch {key}")
        cols[i % len(cols)].image(
            m.image, output_format="PNG", width="stretch",
            caption=f"{title}: {len(m.order)} channels of {shape_str((h, w))}; colour scale {m.vmin:.3g} (dark) … {m.vmax:.3g} (yellow)",
        )
    st.caption(f"Sizes are {HW}, as everywhere in the app. "
               "One colour scale per mosaic (its minimum and maximum over all channels); white separates channels."
               + (" Channels sorted by mean activation, largest first." if sort == "mean" else ""))
    c1, c2 = st.columns([1, 1])
    which = c1.selectbox("Enlarge one channel of", list(mosaics), key="pred-enlarge-map", persist_state=PERSIST)
    m = mosaics[which]
    # start on the most active channel (channel 0 of a photo's map can be all dark); the key
    # carries the map (a channel number valid for one map never overflows another) and that
    # channel (another image or other weights start again on their own most active one)
    first = images.most_active_channel(acts[layers[which]])
    channel = int(c2.number_input(f"Channel (0–{len(m.order) - 1})", 0, len(m.order) - 1, first,
                                  key=f"pred-enlarge-ch:{group}:{which}:{first}", persist_state=PERSIST,
                                  help="Starts on the channel with the largest mean activation"))
    values = acts[layers[which]][0][:, :, channel]
    from .receptive import unit_field_ui  # here, not at the top: receptive imports this module

    unit_field_ui(runner.report, layers[which], shown,
                  images.channel_image(acts[layers[which]], channel, 320, vmin=m.vmin, vmax=m.vmax),
                  f"{layers[which]} channel {channel}: mean {values.mean():.4g}, max {values.max():.4g} "
                  f"(same colour scale as its mosaic)", key=f"pred-unit:{group}:{which}")


def gradcam_ui(spec, runner, rgb, shown, preds) -> None:
    from inception_viz import images

    c1, c2 = st.columns(2)
    block = c1.selectbox("Grad-CAM at", spec.block_names, index=len(spec.block_names) - 1, key="pred-cam-block", persist_state=PERSIST)
    top = preds[0].index
    cls = c2.selectbox("for class", range(spec.classes), index=top, key=f"pred-cam-class:{spec.classes}", persist_state=PERSIST,
                       format_func=lambda i: f"{i}: {runner.labels[i]}" + (" (top)" if i == top else ""))
    try:
        with heavy("Grad-CAM"):
            g = runner.gradcam(rgb, block, int(cls))
    except SpecError as exc:
        error(exc)
        return
    st.image(images.overlay_heatmap(shown, g.heatmap), output_format="PNG", width=448,
             caption=f"Grad-CAM at {block} ({g.heatmap.shape[0]}x{g.heatmap.shape[1]}, upsampled) for "
                     f"{g.label} (p = {g.prob:.4f}): where the gradient of that class's logit says "
                     f"{block}'s channels matter (dark: none, bright yellow: the most)."
                     + (" No positive evidence: the map is empty." if g.peak <= 0 else ""))


def render(ctx: ViewContext) -> None:
    """Predictions, per-branch feature maps and Grad-CAM for an image, with random,
    ImageNet or uploaded weights."""
    spec = ctx.spec
    h, w, c = spec.input_shape
    if c not in (1, 3):
        st.info(f"The {spec.name} model takes {h}x{w}x{c} inputs, not images. Choose a preset with an image input "
                "(googlenet, simplified or naive) to see predictions and feature maps.")
        return
    name, rgb = image_ui()  # Pillow only: the sample photo shows before TensorFlow loads
    st.caption("Runs the network on this image. TensorFlow loads (a few seconds) only when you turn this on.")
    if not st.toggle("Run the network on an image", key="pred-on", persist_state=PERSIST):
        st.image(rgb, caption=f"{name} ({shape_str(rgb.shape[:2])} pixels, {HW})", width=320)
        return
    weights = weights_ui()
    if weights is None:
        return
    try:
        with heavy("prediction"):
            runner = get_runner(spec, weights)
            from inception_viz import images, inference

            shown = images.resize_to_input(rgb, (h, w), runner.preprocessing.resize)
            acts = runner.activations(rgb)  # one pass: every tap and the probabilities
    except SpecError as exc:
        error(exc)
        return
    for note in runner.notes:  # random / re-initialised weights, and every difference to training
        st.warning(note)
    st.caption(f"Weights: {weights.label}. Preprocessing: {runner.preprocessing.description}")
    with st.expander("Download this model with these weights (.keras, ONNX)"):
        model_downloads(spec, weights, runner.model)
    if weights.by_layer is not None:
        transfer_ui(spec, runner, weights.trained)
    has_head = inference.PROBS in acts and acts[inference.PROBS].ndim == 2
    c1, c2 = st.columns([1, 2])
    c1.image(shown, caption=f"{name}, as the network sees it ({shape_str((h, w))}, {HW})", width="stretch")
    preds = None
    if has_head:
        k = 1  # one class: a slider from 1 to 1 is no choice (and Streamlit refuses it)
        if spec.classes > 1:
            k = c2.slider("Top k", 1, min(20, spec.classes), min(5, spec.classes), key=f"pred-k:{spec.classes}", persist_state=PERSIST)
        preds = inference.top_k(acts[inference.PROBS][0], k, runner.labels)
        with c2:
            chart(inference.predictions_figure(preds, f"Top {k} of {spec.classes} classes"), "chart-predictions")
    st.subheader("Feature maps")
    feature_maps_ui(spec, runner, acts, shown)
    if preds and spec.blocks and any(isinstance(l, Dense) and l.activation is None for l in spec.active_layers):
        st.subheader("Grad-CAM")
        # Opt-in: its backward pass is about two thirds of a fresh model's prediction cost,
        # which matters when a whole class predicts at once on a 2-core laptop.
        if st.toggle("Show Grad-CAM (one extra backward pass)", key="pred-cam-on", persist_state=PERSIST):
            gradcam_ui(spec, runner, rgb, shown, preds)
