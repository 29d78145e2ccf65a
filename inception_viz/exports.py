"""Every file Inception Explorer offers for download, as bytes: one pure function per file.

The app's download buttons and ``python -m inception_viz export`` call the same functions,
so a file from the command line is byte-identical to the app's download.

=========  ===========================  =============================================
format     function                     what
=========  ===========================  =============================================
``json``   :func:`config_json`          the config JSON (sidebar "Download config JSON")
``csv``    :func:`table_csv`            the per-layer table (``table --format csv``)
``py``     :func:`keras_code`           Keras code (Code tab, auxiliary heads included)
``dot``    :func:`graph_dot`            Graphviz source of the overview or a block
``svg``    :func:`graph_svg`            the same, rendered by ``dot``
``png``    :func:`graph_png`            the same, rendered by ``dot``
``keras``  :func:`keras_bytes`          the built model (``.keras``, deterministic zip)
``weights`` :func:`weights_bytes`       its weights (``.weights.h5``)
``onnx``   :func:`onnx_bytes`           the model as ONNX (for Netron, onnxruntime)
=========  ===========================  =============================================

Model files carry the weights exactly as ``predict`` uses them: built with the seed of the
:class:`~inception_viz.weights.Weights` (random: seed 0), then every layer whose shapes
still match gets the pretrained weights (:func:`inception_viz.weights.transfer`).
Pass ``model=`` to save an already built model instead (the app's Instantiate tab).

TensorFlow, Keras and the ONNX converter are imported only by the model formats.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from typing import Callable

from .counter import analyze
from .spec import ModelSpec, SpecError

# -- text and graphs (no TensorFlow) -------------------------------------------------------


def config_json(spec: ModelSpec) -> bytes:
    """The config JSON of ``spec`` (complete and stable: :func:`~inception_viz.config.dumps_config`)."""
    from .config import dumps_config

    return dumps_config(spec).encode("utf-8")


def table_csv(spec: ModelSpec) -> bytes:
    """The table CSV, the bytes ``python -m inception_viz table --format csv`` prints."""
    from .cli import table_csv as csv_text

    return csv_text(analyze(spec)).encode("utf-8")


def keras_code(spec: ModelSpec) -> bytes:
    """The Keras script of the Code tab (:func:`inception_viz.codegen.keras_code`)."""
    from .codegen import keras_code as code

    return code(spec).encode("utf-8")


VIEWS_HELP = "overview, or block:NAME (e.g. block:inception_3a)"
RANKDIRS = ("TB", "LR")


def edited_blocks(spec: ModelSpec) -> frozenset[str]:
    """Blocks whose widths differ from the preset's (the overview marks them with ✎)."""
    from .presets import PRESETS, preset

    if spec.preset not in PRESETS:
        return frozenset()
    base = preset(spec.preset)
    return frozenset(b.name for b in spec.blocks if b.name in base.block_names and b.widths != base.block(b.name).widths)


def graph_source(spec: ModelSpec, view: str = "overview", rankdir: str = "TB", wrap: int = 4) -> str:
    """The DOT text of the Graph tab: ``view`` = ``overview`` or ``block:NAME``;
    ``rankdir`` ``TB`` / ``LR``; ``wrap`` = overview nodes per row (2-8, the app's slider)."""
    from . import graph

    report = analyze(spec)
    if rankdir not in RANKDIRS:
        raise SpecError(f"layout must be TB or LR; got {rankdir!r}")
    if view == "overview":
        if not 2 <= wrap <= 8:
            raise SpecError(f"nodes per row must be from 2 to 8; got {wrap}")
        return graph.overview_dot(report, rankdir, edited_blocks(spec), wrap)
    if view.startswith("block:"):
        name = view.removeprefix("block:")
        if name not in spec.block_names:
            raise SpecError(f"no block named {name!r}; blocks are: {', '.join(spec.block_names) or 'none'}")
        return graph.block_dot(report, name, rankdir)
    raise SpecError(f"view must be {VIEWS_HELP}; got {view!r}")


def graph_stem(spec: ModelSpec, view: str = "overview") -> str:
    """The app's file name stem: ``googlenet_overview``, ``googlenet_inception_3a``."""
    return f"{spec.name}_{'overview' if view == 'overview' else view.removeprefix('block:')}"


def graph_dot(spec: ModelSpec, view: str = "overview", rankdir: str = "TB", wrap: int = 4) -> bytes:
    """The Graph tab's DOT download (UTF-8 of :func:`graph_source`)."""
    return graph_source(spec, view, rankdir, wrap).encode("utf-8")


def graph_svg(spec: ModelSpec, view: str = "overview", rankdir: str = "TB", wrap: int = 4) -> bytes:
    """:func:`graph_source` rendered to SVG by Graphviz's ``dot``."""
    from .render import render

    return render(graph_source(spec, view, rankdir, wrap), "svg")


def graph_png(spec: ModelSpec, view: str = "overview", rankdir: str = "TB", wrap: int = 4) -> bytes:
    """:func:`graph_source` rendered to PNG by Graphviz's ``dot``."""
    from .render import render

    return render(graph_source(spec, view, rankdir, wrap), "png")


# -- models --------------------------------------------------------------------------------


def _model(spec: ModelSpec, weights, model):
    from .weights import model_with_weights, random_weights

    weights = weights or random_weights(0)
    if model is None:
        model, _ = model_with_weights(spec, weights)
    return model, weights


#: Every zip entry of a ``.keras`` export gets this time stamp (the zip format's earliest),
#: and ``metadata.json``'s ``date_saved`` this text, so the same model gives the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DATE_SAVED = "1980-01-01@00:00:00"


def _normalise_keras_zip(data: bytes) -> bytes:
    """Keras writes the save time into every zip entry's header and into
    ``metadata.json``; replace both by fixed values (entries, order, contents and
    compression otherwise unchanged)."""
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "metadata.json":
                meta = json.loads(body)
                if "date_saved" in meta:
                    meta["date_saved"] = DATE_SAVED
                body = json.dumps(meta).encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, body)
    return out.getvalue()


def keras_bytes(spec: ModelSpec, weights=None, model=None) -> bytes:
    """The model as a ``.keras`` file with this app's entry (config, preprocessing), which
    the Predictions tab and ``--weights FILE`` load back. Deterministic: time stamps are
    fixed (:data:`ZIP_DATE`), so two exports of the same model are byte-identical."""
    from .weights import save_model_file

    model, weights = _model(spec, weights, model)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_model_file(model, os.path.join(tmp, "model.keras"), spec, weights)
        return _normalise_keras_zip(path.read_bytes())


def weights_bytes(spec: ModelSpec, weights=None, model=None) -> bytes:
    """The model's weights as ``.weights.h5`` with this app's attributes (config,
    preprocessing), loadable by ``--weights FILE`` and the Predictions tab."""
    from .weights import save_weights_file

    model, weights = _model(spec, weights, model)
    with tempfile.TemporaryDirectory() as tmp:
        return save_weights_file(model, os.path.join(tmp, "model.weights.h5"), spec, weights).read_bytes()


# -- ONNX ----------------------------------------------------------------------------------
#
# Converter: Keras 3's ``model.export(path, format="onnx")``, which on the TensorFlow backend
# runs tf2onnx (pinned in requirements.txt; Keras patches it for numpy 2). Tried here with
# TensorFlow 2.21 / Keras 3.15.1 / tf2onnx 1.17.0: it converts every preset, the custom
# layers included (Caffe LRN -> ONNX ``LRN``, ceil-mode pools -> ``Pad`` + ``MaxPool``),
# and onnxruntime matches the Keras model to ~1e-10, so the fallback the issue allowed
# (writing the graph from the spec with onnx.helper, as :mod:`inception_viz.onnx_zoo` does
# for the zoo layout) is not needed. tf2onnx's own names carry TensorFlow scopes and a
# process-wide counter (``googlenet_1/conv1_1/convolution__6``), so :func:`_canonical_names`
# renames every node, tensor and initializer from the spec: the file is the same
# whichever process writes it, and Netron shows ``inception_4c_3x3``.

#: ONNX opset of the export (>= 13: Softmax over the last axis, as Keras's).
ONNX_OPSET = 17
ONNX_INPUT = "input"
#: Output of a model that ends in softmax; a model without a classifier head (the
#: ``block`` preset) outputs its last feature map as ``output`` [N, H, W, C].
ONNX_PROBS = "probabilities"
ONNX_FEATURES = "output"
PREPROCESSING_KEY = "inception_viz.preprocessing"
CONFIG_KEY = "inception_viz.config"
WEIGHTS_KEY = "inception_viz.weights"

_ONNX_LOCK = threading.Lock()  # tf2onnx keeps global state (name counters, patched handlers)


def conv_layer_names(spec: ModelSpec) -> list[str]:
    """The conv layers of the network (the ``conv`` rows of ``table`` and the convs inside
    each block, auxiliary heads excluded), in network order."""
    from .onnx_zoo import weighted_layers

    return [name for name, kind, _shape, _units in weighted_layers(spec) if kind == "conv"]


def preprocessing_json(weights) -> str:
    """The ``inception_viz.preprocessing`` metadata: ``{"name", "mean": [R, G, B],
    "scale", "channels": "RGB"}``; the input is ``(rgb - mean) * scale``, NHWC float32."""
    p = weights.preprocessing
    return json.dumps({"name": p.name, "mean": [float(m) for m in p.mean], "scale": float(p.scale), "channels": "RGB"})


def _layer_of(tf_name: str, layers: set[str]) -> str | None:
    """``googlenet_1/inception_3a_1x1_1/convolution`` -> ``inception_3a_1x1``: the second
    scope is the Keras layer, with TensorFlow's ``_N`` suffix when the scope was reused."""
    parts = tf_name.split("/")
    if len(parts) < 2:
        return None
    scope = parts[1]
    base, _, tail = scope.rpartition("_")
    if tail.isdigit() and base in layers:
        return base
    return scope if scope in layers else None


def _canonical_names(m, layers: set[str], convs: list[str], output: str) -> None:
    """Rename in place: Conv nodes = their Keras layer; other nodes ``<layer>_<Op>``;
    every tensor = the node that writes it; initializers ``<layer>_kernel`` / ``_bias``
    (others ``<node>_const<i>``); the single input ``input``, output ``output``; symbolic
    dimensions ``N``."""
    g = m.graph
    used_nodes: set[str] = set()
    used_tensors: set[str] = {ONNX_INPUT, output}  # tensors and initializers share one namespace

    def unique(name: str, used: set[str]) -> str:
        k, cand = 1, name
        while cand in used:
            k += 1
            cand = f"{name}_{k}"
        used.add(cand)
        return cand

    tensors = {g.input[0].name: ONNX_INPUT, g.output[0].name: output}
    conv_seen: dict[str, int] = {}
    for node in g.node:
        layer = _layer_of(node.name, layers)
        if node.op_type == "Conv":
            if layer not in convs:
                raise SpecError(f"ONNX export: a Conv node ({node.name}) that is no conv layer of the spec")
            conv_seen[layer] = conv_seen.get(layer, 0) + 1
            node.name = unique(layer, used_nodes)
        else:
            node.name = unique(f"{layer}_{node.op_type}" if layer else node.op_type, used_nodes)
        for i, t in enumerate(node.output):
            if t not in tensors:
                tensors[t] = unique(node.name if len(node.output) == 1 else f"{node.name}_{i}", used_tensors)
    if sorted(conv_seen) != sorted(convs) or any(v != 1 for v in conv_seen.values()):
        raise SpecError("ONNX export: the converter did not write exactly one Conv node per conv layer")
    roles = {1: "kernel", 2: "bias"}
    for node in g.node:
        layer = node.name if node.op_type == "Conv" else None
        for i, t in enumerate(node.input):
            if t in tensors or not t:
                continue
            is_init = any(init.name == t for init in g.initializer)
            if not is_init:
                continue
            if node.op_type in ("Conv", "MatMul", "Gemm") and i in roles:
                base = layer or node.name.rsplit("_", 1)[0]
                tensors[t] = unique(f"{base}_{roles[i]}", used_tensors)
            elif node.op_type == "Add" and i == 1 and node.name.endswith("_Add"):
                tensors[t] = unique(f"{node.name.removesuffix('_Add')}_bias", used_tensors)
            else:
                tensors[t] = unique(f"{node.name}_const{i}", used_tensors)
    for node in g.node:
        node.input[:] = [tensors.get(t, t) for t in node.input]
        node.output[:] = [tensors.get(t, t) for t in node.output]
        node.doc_string = ""
    for init in g.initializer:
        init.name = tensors.get(init.name, init.name)
        init.doc_string = ""
    for vi in [*g.input, *g.output, *g.value_info]:
        vi.name = tensors.get(vi.name, vi.name)
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_param"):
                d.dim_param = "N"


def onnx_model(spec: ModelSpec, weights=None, model=None):
    """The network as an ``onnx.ModelProto`` with its weights (see the module docstring):
    input ``input`` float32 [N, H, W, C] (the preprocessed image, as the Keras model reads
    it), output ``probabilities`` [N, classes] (``output`` for a model without a head), one
    ``Conv`` node per conv layer named like the layer, metadata
    :data:`PREPROCESSING_KEY` / :data:`CONFIG_KEY` / :data:`WEIGHTS_KEY`. Auxiliary
    classifiers (training only) are left out, as ``predict`` leaves them out. Checked with
    ``onnx.checker``."""
    import keras
    import onnx
    import tensorflow as tf

    from .config import dumps_config
    from .spec import Dense, Softmax

    analyze(spec)
    model, weights = _model(spec, weights, model)
    main = model if len(model.outputs) == 1 else keras.Model(model.inputs, model.outputs[0], name=model.name)
    head = isinstance(spec.active_layers[-1], (Dense, Softmax))
    output = ONNX_PROBS if head else ONNX_FEATURES
    sig = [tf.TensorSpec((None, *spec.input_shape), tf.float32, name=ONNX_INPUT)]
    quiet = logging.getLogger("tf2onnx")
    with _ONNX_LOCK, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            main.export(path, format="onnx", input_signature=sig, opset_version=ONNX_OPSET, verbose=False)
        except Exception as exc:  # noqa: BLE001 - converter errors of every kind become one line
            msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise SpecError(f"ONNX export failed: {msg}") from None
        finally:
            quiet.setLevel(level)
        m = onnx.load_model(path)
    _canonical_names(m, {l.name for l in main.layers}, conv_layer_names(spec), output)
    m.graph.name = spec.name
    m.graph.doc_string = ""  # tf2onnx writes the traced function's name, which has a process-wide counter
    m.doc_string = f"{spec.name}, exported by Inception Explorer (inception_viz) from Keras with tf2onnx"
    del m.metadata_props[:]
    for key, value in ((PREPROCESSING_KEY, preprocessing_json(weights)), (CONFIG_KEY, dumps_config(spec)),
                       (WEIGHTS_KEY, weights.label)):
        m.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(m, full_check=True)
    return m


def onnx_bytes(spec: ModelSpec, weights=None, model=None) -> bytes:
    """The ``.onnx`` file of :func:`onnx_model` (same spec and weights, same bytes)."""
    return onnx_model(spec, weights, model).SerializeToString()


# -- the registry the CLI (and anyone listing the formats) reads ----------------------------


@dataclass(frozen=True)
class Format:
    """One downloadable file: ``suffix`` of its name, its MIME type, whether it holds the
    model's weights (``--weights`` applies) and whether it draws a graph (``--view``)."""

    name: str
    suffix: str
    mime: str
    what: str
    model: bool = False
    graph: bool = False


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("onnx", ".onnx", "application/octet-stream", "the model with its weights as ONNX", model=True),
        Format("keras", ".keras", "application/zip", "the model with its weights (.keras)", model=True),
        Format("weights", ".weights.h5", "application/x-hdf5", "the weights (.weights.h5)", model=True),
        Format("py", ".py", "text/x-python", "Keras code that builds the model"),
        Format("dot", ".dot", "text/vnd.graphviz", "the graph as Graphviz DOT", graph=True),
        Format("svg", ".svg", "image/svg+xml", "the graph as SVG", graph=True),
        Format("png", ".png", "image/png", "the graph as PNG", graph=True),
        Format("csv", ".csv", "text/csv", "the per-layer table (table --format csv)"),
        Format("json", ".json", "application/json", "the config JSON"),
    )
}

_GRAPHS: dict[str, Callable[..., bytes]] = {"dot": graph_dot, "svg": graph_svg, "png": graph_png}
_MODELS: dict[str, Callable[..., bytes]] = {"onnx": onnx_bytes, "keras": keras_bytes, "weights": weights_bytes}
_TEXTS: dict[str, Callable[[ModelSpec], bytes]] = {"py": keras_code, "csv": table_csv, "json": config_json}


def file_name(spec: ModelSpec, fmt: str, view: str = "overview") -> str:
    """The name the app gives the download: ``googlenet.onnx``, ``googlenet_overview.svg``."""
    f = FORMATS[fmt]
    return f"{graph_stem(spec, view) if f.graph else spec.name}{f.suffix}"


def export(fmt: str, spec: ModelSpec, weights=None, view: str = "overview", rankdir: str = "TB", wrap: int = 4) -> bytes:
    """The bytes of format ``fmt`` (a key of :data:`FORMATS`)."""
    if fmt in _GRAPHS:
        return _GRAPHS[fmt](spec, view, rankdir, wrap)
    if fmt in _MODELS:
        return _MODELS[fmt](spec, weights)
    if fmt in _TEXTS:
        return _TEXTS[fmt](spec)
    raise SpecError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")


__all__ = [
    "config_json", "table_csv", "keras_code", "graph_source", "graph_dot", "graph_svg", "graph_png",
    "keras_bytes", "weights_bytes", "onnx_model", "onnx_bytes", "export", "file_name", "FORMATS",
    "edited_blocks", "graph_stem", "conv_layer_names", "preprocessing_json",
]
