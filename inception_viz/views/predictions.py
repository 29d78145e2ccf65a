"""Predictions & feature maps: top-k predictions, per-branch feature-map mosaics and
Grad-CAM for an image, with random, ImageNet or uploaded weights. The sample photo shows
at once (Pillow only); TensorFlow is imported only once the view's switch is on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import graph, limits
from ..graph import shape_str
from ..i18n import N_, _, current
from ..spec import Dense, SpecError
from .common import (PERSIST, chart, decode_image, error, fmt_g, get_runner, graphviz, heavy, model_downloads,
                     sample_image, visitor_trusted, weights_from_bytes, zoo_weights)
from .context import ViewContext

#: The weight sources: the radio's values (English msgids, kept in session state) and,
#: translated, its labels.
WEIGHT_SOURCES = (N_("Random (untrained)"), N_("ImageNet (ONNX Model Zoo GoogLeNet)"), N_("A weights file"))
#: The bundled photos' names (:data:`inception_viz.images.SAMPLES` keys) in words.
SAMPLE_LABELS = {"cat": N_("cat"), "coffee": N_("coffee"), "astronaut": N_("astronaut"), "rocket": N_("rocket")}
#: Uploaded weights files: the zoo's googlenet-12.onnx is 26.7 MiB.
MAX_WEIGHTS_UPLOAD_MB = 64
MAX_IMAGE_UPLOAD_MB = 20
#: Each feature-map pixel is one mosaic pixel (a larger scale is checked against the memory
#: limit the same way: ``limits.check(..., purpose="activations", scale=...)``).
MOSAIC_SCALE = 1
#: The one size convention of the app (the network's and every table's): height first.
HW = N_("height × width")


def _zoo_missing_ui(prefix: str = "pred") -> None:
    """The ImageNet weights are not installed. A trusted visitor (the lecturer at the
    server's own browser, :mod:`inception_viz.trust`) may download them or name a copy on
    this machine; anyone else is told that the lecturer installs them, and sees no server
    path, no download button and no path field."""
    from inception_viz import weights as W

    tr = current()
    if not visitor_trusted():
        st.info(_("The ImageNet weights ({file}) are not installed on this server. The lecturer installs them before the "
                  "lecture with `python -m inception_viz weights download` (or `python -m inception_viz weights install "
                  "FILE` from a USB stick). Meanwhile you can upload {file} under “{source}”.").format(
                      file=W.ZOO_FILENAME, source=_(WEIGHT_SOURCES[2])))
        return
    st.info(_("The ImageNet weights ({file}, {size} bytes) are not in {folder} yet.").format(
        file=W.ZOO_FILENAME, size=tr.int(W.ZOO_SIZE), folder=W.cache_dir()))
    c1, c2 = st.columns(2)
    if c1.button(_("Download from the ONNX Model Zoo"), key=f"{prefix}-download"):
        bar = st.progress(0.0, text=_("Downloading {file}…").format(file=W.ZOO_FILENAME))
        try:
            W.download_zoo(progress=lambda d, t: bar.progress(min(d / t, 1.0), text=_("{done} of {total} bytes").format(
                done=tr.int(d), total=tr.int(t))))
        except SpecError as exc:
            error(exc)
            return
        st.rerun()
    local = c2.text_input(_("…or the path of a copy on this machine"), key=f"{prefix}-zoo-path", persist_state=PERSIST,
                          placeholder="/media/usb/googlenet-12.onnx")  # i18n: keep (a path)
    if local:
        try:
            W.install_zoo_file(local.strip())
        except SpecError:
            # One message for every failure: even here, never whether the file exists or its size.
            # (W.INSTALL_REFUSED as a sentence, in the session's language)
            st.error(_("That path is not a readable copy of {file} (a regular file of {size} bytes with SHA-256 "
                       "{sha}…); nothing was installed.").format(file=W.ZOO_FILENAME, size=tr.int(W.ZOO_SIZE),
                                                                 sha=W.ZOO_SHA256[:8]))
            return
        st.rerun()
    st.caption(_("Source: {url}. Checked against SHA-256 {sha}. Offline: copy the file into {folder} (or set "
                 "INCEPTION_VIZ_CACHE), or upload it under “{source}”.").format(
        url=W.ZOO_URL, sha=W.ZOO_SHA256, folder=W.cache_dir(), source=_(WEIGHT_SOURCES[2])))


def weights_ui(prefix: str = "pred"):
    """The chosen weights, or ``None`` while none are available. A bad file shows an error
    and keeps the last good weights. ``prefix`` starts the widget keys: the view that draws
    them (Feature visualisation calls this with its own)."""
    import hashlib

    from inception_viz import weights as W

    source = st.radio(_("Weights"), WEIGHT_SOURCES, key=f"{prefix}-source", persist_state=PERSIST, horizontal=True,
                      format_func=current().gettext)  # bound now: AppTest calls it outside the run
    if source == WEIGHT_SOURCES[0]:
        return W.random_weights(0)
    if source == WEIGHT_SOURCES[1]:
        path = W.cached_zoo_path()
        if path is None:
            _zoo_missing_ui(prefix)
            return None
        try:
            with st.spinner(_("Reading the ImageNet weights…")):
                return zoo_weights(str(path), path.stat().st_mtime_ns)
        except (SpecError, OSError) as exc:
            error(exc if visitor_trusted() else _("The ImageNet weights on this server cannot be read; the lecturer "
                                                  "can install them again with `python -m inception_viz weights download`."))
            return None
    up = st.file_uploader(_("googlenet-12.onnx, or a .keras / .weights.h5 saved by this app"), type=["onnx", "keras", "h5"],
                          key=f"{prefix}-weights-file", max_upload_size=MAX_WEIGHTS_UPLOAD_MB)
    if up is None:
        st.info(_("Upload a weights file: the ONNX Model Zoo's googlenet-12.onnx, or a .keras / .weights.h5 saved by this app."))
        return None
    data = up.getvalue()
    try:
        with heavy(N_("weights file")), st.spinner(_("Reading the weights…")):  # a .weights.h5 builds a model to load into
            weights = weights_from_bytes(hashlib.sha256(data).hexdigest(), up.name, data)
    except SpecError as exc:
        error(f"{up.name}: {exc}")
        last = st.session_state.get(f"{prefix}-good-weights")
        if last is not None:
            st.caption(_("Still using {weights}.").format(weights=W.weights_label(last, current())))
        return last
    st.session_state[f"{prefix}-good-weights"] = weights
    return weights


def image_ui():
    """``(name, rgb)`` of the chosen image: a bundled sample or an upload. A bad upload
    shows an error and keeps the last good image."""
    from inception_viz import images

    tr = current()
    c1, c2 = st.columns([1, 2])
    sample = c1.selectbox(_("Sample photo"), list(images.SAMPLES), key="pred-sample", persist_state=PERSIST,
                          help=_("Bundled photos (CC0 / public domain, see assets/README)"),
                          format_func=lambda n: _sample_label(n, tr))
    up = c2.file_uploader(_("…or your own image (JPEG, PNG, WebP, BMP, GIF)"), type=["jpg", "jpeg", "png", "webp", "bmp", "gif"],
                          key="pred-image-file", max_upload_size=MAX_IMAGE_UPLOAD_MB)
    if up is None:
        return _sample_label(sample), sample_image(sample)
    try:
        rgb = decode_image(up.getvalue(), up.name)
    except SpecError as exc:
        error(exc)
        last = st.session_state.get("pred-good-image")
        if last is not None:
            st.caption(_("Still showing {name}.").format(name=last[0]))
            return last
        return _sample_label(sample), sample_image(sample)
    st.session_state["pred-good-image"] = (up.name, rgb)
    return up.name, rgb


def _sample_label(name: str, tr=None) -> str:
    """A bundled photo's name in ``tr``'s language (default: the session's). Widgets'
    ``format_func`` get ``tr`` bound at render time: Streamlit's test harness calls them
    outside the script run, where the session's language is not set."""
    tr = tr or current()
    return tr.gettext(SAMPLE_LABELS[name]) if name in SAMPLE_LABELS else name


def transfer_ui(spec, runner, trained: bool) -> None:
    """Which layers carry the loaded weights after the lecturer's edits. Untrained weights
    (a ``.keras`` saved from random weights: its metadata says so) are "loaded", never
    "pretrained"."""
    import html

    tr = current()
    t = runner.transfer
    n_all = len(t.pretrained) + len(t.fresh)
    if not t.fresh:
        st.caption(_("All {n} layers with weights carry the loaded weights.").format(n=tr.int(n_all)))
        return
    if trained:
        st.warning(_("{fresh} of {n} layers with weights no longer fit the loaded weights after your edits and were "
                     "freshly initialised; every other layer keeps its pretrained weights.").format(
                         fresh=tr.int(len(t.fresh)), n=tr.int(n_all)))
    else:
        st.warning(_("{fresh} of {n} layers with weights no longer fit the loaded weights after your edits and were "
                     "freshly initialised; every other layer keeps its loaded weights.").format(
                         fresh=tr.int(len(t.fresh)), n=tr.int(n_all)))
    words = {s: graph.status_text(s, trained, tr) for s in graph.WEIGHT_STATUS_STYLE}
    status = t.layer_status(spec)
    layer, weights = _("layer"), _("weights")
    rows = [{layer: name, weights: words.get(s, s)} for name, s in status.items() if s != "no weights"]
    with st.expander(_("Which layers are pretrained") if trained else _("Which layers are loaded"), expanded=True):
        graphviz(graph.overview_dot(runner.report, status=status, trained=trained, tr=tr))
        st.markdown(
            " ".join(
                f'<span style="border:3px {"solid" if "dashed" not in style else "dashed"} {color};padding:2px 8px;'
                f'border-radius:4px;margin-right:6px">{html.escape(words[s])}</span>'
                for s, (_text, color, style) in graph.WEIGHT_STATUS_STYLE.items()
            ),
            unsafe_allow_html=True,
        )
        branches = runner.transfer.branch_status(spec)
        for r in rows:
            if r[layer] in branches:
                r.update({_("branch {key}").format(key=k): words.get(v, v) for k, v in branches[r[layer]].items()})
        st.dataframe(pd.DataFrame(rows).fillna(""), width="stretch", hide_index=True)


def feature_maps_ui(spec, runner, acts, shown) -> None:
    from inception_viz import images, inference

    tr = current()
    groups = ["stem", *spec.block_names]
    c1, c2 = st.columns([2, 1])
    group = c1.selectbox(_("Feature maps of"), groups, index=1 if spec.blocks else 0, key="pred-group", persist_state=PERSIST,
                         format_func=lambda g: tr.gettext("stem") if g == "stem" else g)
    sort = c2.radio(_("Channel order"), ("index", "mean"), key="pred-sort", persist_state=PERSIST, horizontal=True,
                    format_func=lambda s: tr.gettext("as in the layer") if s == "index" else tr.gettext("by mean activation"))
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
        title = key if group == "stem" else (f"{group} (concat)" if key == "concat" else _("branch {key}").format(key=key))
        cols[i % len(cols)].image(
            m.image, output_format="PNG", width="stretch",
            caption=_("{title}: {n} channels of {size}; colour scale {vmin} (dark) … {vmax} (yellow)").format(
                title=title, n=tr.int(len(m.order)), size=shape_str((h, w)), vmin=fmt_g(m.vmin, tr, ".3g"),
                vmax=fmt_g(m.vmax, tr, ".3g")),
        )
    st.caption(_("Sizes are {hw}, as everywhere in the app.").format(hw=_(HW)) + " "
               + _("One colour scale per mosaic (its minimum and maximum over all channels); white separates channels.")
               + (_(" Channels sorted by mean activation, largest first.") if sort == "mean" else ""))
    c1, c2 = st.columns([1, 1])
    which = c1.selectbox(_("Enlarge one channel of"), list(mosaics), key="pred-enlarge-map", persist_state=PERSIST)
    m = mosaics[which]
    # start on the most active channel (channel 0 of a photo's map can be all dark); the key
    # carries the map (a channel number valid for one map never overflows another) and that
    # channel (another image or other weights start again on their own most active one)
    first = images.most_active_channel(acts[layers[which]])
    channel = int(c2.number_input(_("Channel (0–{last})").format(last=len(m.order) - 1), 0, len(m.order) - 1, first,
                                  key=f"pred-enlarge-ch:{group}:{which}:{first}", persist_state=PERSIST,
                                  help=_("Starts on the channel with the largest mean activation")))
    values = acts[layers[which]][0][:, :, channel]
    from .receptive import unit_field_ui  # here, not at the top: receptive imports this module

    unit_field_ui(runner.report, layers[which], shown,
                  images.channel_image(acts[layers[which]], channel, 320, vmin=m.vmin, vmax=m.vmax),
                  _("{layer} channel {channel}: mean {mean}, max {max} (same colour scale as its mosaic)").format(
                      layer=layers[which], channel=channel, mean=fmt_g(values.mean(), tr, ".4g"),
                      max=fmt_g(values.max(), tr, ".4g")), key=f"pred-unit:{group}:{which}")


def gradcam_ui(spec, runner, rgb, shown, preds) -> None:
    from inception_viz import images

    tr = current()
    c1, c2 = st.columns(2)
    block = c1.selectbox(_("Grad-CAM at"), spec.block_names, index=len(spec.block_names) - 1, key="pred-cam-block",
                         persist_state=PERSIST)
    top = preds[0].index
    cls = c2.selectbox(_("for class"), range(spec.classes), index=top, key=f"pred-cam-class:{spec.classes}", persist_state=PERSIST,
                       format_func=lambda i: f"{i}: {runner.labels[i]}" + (tr.gettext(" (top)") if i == top else ""))
    try:
        with heavy(N_("Grad-CAM")):
            g = runner.gradcam(rgb, block, int(cls))
    except SpecError as exc:
        error(exc)
        return
    st.image(images.overlay_heatmap(shown, g.heatmap), output_format="PNG", width=448,
             caption=_("Grad-CAM at {block} ({h}x{w}, upsampled) for {label} (p = {p}): where the gradient of that "
                       "class's logit says {block}'s channels matter (dark: none, bright yellow: the most).").format(
                           block=block, h=g.heatmap.shape[0], w=g.heatmap.shape[1], label=g.label,
                           p=tr.decimal(g.prob, 4))
                     + (_(" No positive evidence: the map is empty.") if g.peak <= 0 else ""))


def render(ctx: ViewContext) -> None:
    """Predictions, per-branch feature maps and Grad-CAM for an image, with random,
    ImageNet or uploaded weights."""
    spec = ctx.spec
    tr = current()
    h, w, c = spec.input_shape
    if c not in (1, 3):
        st.info(_("The {name} model takes {h}x{w}x{c} inputs, not images. Choose a preset with an image input "
                  "(googlenet, simplified or naive) to see predictions and feature maps.").format(name=spec.name, h=h, w=w, c=c))
        return
    name, rgb = image_ui()  # Pillow only: the sample photo shows before TensorFlow loads
    st.caption(_("Runs the network on this image. TensorFlow loads (a few seconds) only when you turn this on."))
    if not st.toggle(_("Run the network on an image"), key="pred-on", persist_state=PERSIST):
        st.image(rgb, caption=_("{name} ({size} pixels, {hw})").format(name=name, size=shape_str(rgb.shape[:2]), hw=_(HW)),
                 width=320)
        return
    weights = weights_ui()
    if weights is None:
        return
    from inception_viz import weights as W

    try:
        with heavy(N_("prediction")):
            runner = get_runner(spec, weights)
            from inception_viz import images, inference

            shown = images.resize_to_input(rgb, (h, w), runner.preprocessing.resize)
            acts = runner.activations(rgb)  # one pass: every tap and the probabilities
    except SpecError as exc:
        error(exc)
        return
    # random / re-initialised weights, and every difference to training (runner.notes, in this language)
    for note in W.prediction_notes(spec, weights, runner.transfer, tr=tr):
        st.warning(note)
    st.caption(_("Weights: {weights}. Preprocessing: {preprocessing}").format(
        weights=W.weights_label(weights, tr), preprocessing=_(runner.preprocessing.description)))
    with st.expander(_("Download this model with these weights (.keras, ONNX)")):
        model_downloads(spec, weights, runner.model)
    if weights.by_layer is not None:
        transfer_ui(spec, runner, weights.trained)
    has_head = inference.PROBS in acts and acts[inference.PROBS].ndim == 2
    c1, c2 = st.columns([1, 2])
    c1.image(shown, caption=_("{name}, as the network sees it ({size}, {hw})").format(
        name=name, size=shape_str((h, w)), hw=_(HW)), width="stretch")
    preds = None
    if has_head:
        k = 1  # one class: a slider from 1 to 1 is no choice (and Streamlit refuses it)
        if spec.classes > 1:
            k = c2.slider(_("Top k"), 1, min(20, spec.classes), min(5, spec.classes), key=f"pred-k:{spec.classes}",
                          persist_state=PERSIST)
        preds = inference.top_k(acts[inference.PROBS][0], k, runner.labels)
        with c2:
            chart(inference.predictions_figure(preds, _("Top {k} of {classes} classes").format(
                k=k, classes=tr.int(spec.classes)), tr=tr), "chart-predictions")
    st.subheader(_("Feature maps"))
    feature_maps_ui(spec, runner, acts, shown)
    if preds and spec.blocks and any(isinstance(l, Dense) and l.activation is None for l in spec.active_layers):
        st.subheader("Grad-CAM")  # i18n: keep (the method's name)
        # Opt-in: its backward pass is about two thirds of a fresh model's prediction cost,
        # which matters when a whole class predicts at once on a 2-core laptop.
        if st.toggle(_("Show Grad-CAM (one extra backward pass)"), key="pred-cam-on", persist_state=PERSIST):
            gradcam_ui(spec, runner, rgb, shown, preds)
