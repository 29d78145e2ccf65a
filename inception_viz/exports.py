"""Every file Inception Explorer offers for download, as bytes: one pure function per file.

The app's download buttons and ``python -m inception_viz export`` call the same functions,
so a file from the command line is byte-identical to the app's download.

===========  =====================  ================================================
format       function               what
===========  =====================  ================================================
``json``     :func:`config_json`    the config JSON (sidebar "Download config JSON")
``csv``      :func:`table_csv`      the per-layer table (``table --format csv``)
``py``       :func:`keras_code`     Keras code (Code tab, auxiliary heads included)
``dot``      :func:`graph_dot`      Graphviz source of the overview or a block
``svg``      :func:`graph_svg`      the same, rendered by ``dot``
``png``      :func:`graph_png`      the same, rendered by ``dot``
``keras``    :func:`keras_bytes`    the built model (``.keras``, deterministic zip)
``weights``  :func:`weights_bytes`  its weights (``.weights.h5``)
``onnx``     :func:`onnx_bytes`     the model as ONNX (for Netron, onnxruntime)
===========  =====================  ================================================

Model files carry the weights exactly as ``predict`` uses them: built with the seed of the
:class:`~inception_viz.weights.Weights` (random: seed 0), then every layer whose shapes
still match gets the pretrained weights (:func:`inception_viz.weights.transfer`).
Pass ``model=`` to save an already built model instead (the app's Instantiate tab).

TensorFlow and Keras are imported only by the model formats.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from typing import Callable

from .counter import analyze
from .i18n import resolve
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


def graph_source(spec: ModelSpec, view: str = "overview", rankdir: str = "TB", wrap: int = 4, tr=None) -> str:
    """The DOT text of the Graph tab: ``view`` = ``overview`` or ``block:NAME``;
    ``rankdir`` ``TB`` / ``LR``; ``wrap`` = overview nodes per row (2-8, the app's slider);
    ``tr``: the labels' language (:class:`inception_viz.i18n.Translator`, default English)."""
    from . import graph

    report = analyze(spec)
    if rankdir not in RANKDIRS:
        raise SpecError(f"layout must be TB or LR; got {rankdir!r}")
    if view == "overview":
        if not 2 <= wrap <= 8:
            raise SpecError(f"nodes per row must be from 2 to 8; got {wrap}")
        return graph.overview_dot(report, rankdir, edited_blocks(spec), wrap, tr=tr)
    if view.startswith("block:"):
        name = view.removeprefix("block:")
        if name not in spec.block_names:
            raise SpecError(f"no block named {name!r}; blocks are: {', '.join(spec.block_names) or 'none'}")
        from .edits import edited_widths

        return graph.block_dot(report, name, rankdir, edited=edited_widths(spec).get(name, {}), tr=tr)
    raise SpecError(f"view must be {VIEWS_HELP}; got {view!r}")


def graph_stem(spec: ModelSpec, view: str = "overview", tr=None) -> str:
    """The app's file name stem: ``googlenet_overview``, ``googlenet_inception_3a``
    (an edited model: ``googlenet-edited-1a2b3c4d_overview``, see :func:`config.file_stem`);
    the word *overview* in ``tr``'s language (Spanish: ``googlenet_vista_general``), layer
    names as they are."""
    from .config import file_stem

    word = resolve(tr).pgettext("file name", "overview")
    return f"{file_stem(spec)}_{word if view == 'overview' else view.removeprefix('block:')}"


def graph_dot(spec: ModelSpec, view: str = "overview", rankdir: str = "TB", wrap: int = 4, tr=None) -> bytes:
    """The Graph tab's DOT download (UTF-8 of :func:`graph_source`)."""
    return graph_source(spec, view, rankdir, wrap, tr).encode("utf-8")


def graph_svg(spec: ModelSpec, view: str = "overview", rankdir: str = "TB", wrap: int = 4, tr=None) -> bytes:
    """:func:`graph_source` rendered to SVG by Graphviz's ``dot``."""
    from .render import render

    return render(graph_source(spec, view, rankdir, wrap, tr), "svg")


def graph_png(spec: ModelSpec, view: str = "overview", rankdir: str = "TB", wrap: int = 4, tr=None) -> bytes:
    """:func:`graph_source` rendered to PNG by Graphviz's ``dot``."""
    from .render import render

    return render(graph_source(spec, view, rankdir, wrap, tr), "png")


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


_SHARED_ID = re.compile(r'"shared_object_id": (\d+)')


def _renumber(seen: dict[str, int]):
    def sub(m: re.Match) -> str:
        return f'"shared_object_id": {seen.setdefault(m.group(1), len(seen) + 1)}'

    return sub


def _normalise_keras_zip(data: bytes) -> bytes:
    """Keras writes the save time into every zip entry's header and into
    ``metadata.json``, and the memory address (``id()``) of each shared object (the dtype
    policy) into ``config.json``: replace the times by fixed values and the ids by 1, 2, …
    in order of first appearance (Keras only matches equal ids on load). Entries, their
    order, other contents and compression are unchanged."""
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
            elif info.filename == "config.json":
                body = _SHARED_ID.sub(_renumber({}), body.decode("utf-8")).encode("utf-8")
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
# Converter decision. Tried first: Keras 3's ``model.export(path, format="onnx")``, which on
# the TensorFlow backend runs tf2onnx (1.17.0 installs from pip and works with TF 2.21 /
# Keras 3.15.1: googlenet converts, the custom LRN and ceil-mode pools included, and
# onnxruntime matched Keras to 1e-10). It is not used because (1) it does not scale: the
# ``naive`` preset (97.5 M parameters, 390 MB of weights) grew the process to 17.5 GB and
# was killed by the OOM killer on a 23 GB machine, while the app refuses to build models
# over 4 GB (limits.py), and even googlenet took 8-60 s on a shared 2-core CPU; (2) its
# names carry TensorFlow scopes and a process-wide counter (``googlenet_1/conv1_1/
# convolution__6``), which must be rewritten for the spec's names and deterministic
# bytes. So the graph is written from the spec with ``onnx.helper``, by the writer that
# already builds the zoo layout (:func:`inception_viz.onnx_zoo.build_onnx`, tested against
# onnxruntime and used by the benchmark), with this app's names and an NHWC input. It
# follows the spec's semantics, not the Keras layer classes: Caffe LRN = ONNX ``LRN``
# (both divide alpha by size), Caffe ceil-mode max pool = ``MaxPool`` with end pads (ONNX
# never picks a pad), explicit conv pads = ``Conv`` pads, "same" = TensorFlow's split.
# Memory: the weights once more; time: milliseconds plus serialisation.

#: ONNX opset of the export (>= 13).
ONNX_OPSET = 17
ONNX_INPUT = "input"
#: Output of a model that ends in softmax; a model without a classifier head (the
#: ``block`` preset) outputs its last feature map as ``output`` [N, H, W, C].
ONNX_PROBS = "probabilities"
ONNX_FEATURES = "output"
PREPROCESSING_KEY = "inception_viz.preprocessing"
CONFIG_KEY = "inception_viz.config"
WEIGHTS_KEY = "inception_viz.weights"


def _export_naming(spec: ModelSpec):
    """Nodes and tensors named like the Keras layers (``inception_4c_3x3``), initializers
    ``<layer>_kernel`` / ``<layer>_bias``, NHWC RGB input ``input``."""
    from .onnx_zoo import Naming
    from .spec import Dense, Softmax

    head = isinstance(spec.active_layers[-1], (Dense, Softmax))
    return Naming(ONNX_INPUT, ONNX_PROBS if head else ONNX_FEATURES, tensor=str, node=str,
                  weights=lambda n: (f"{n}_kernel", f"{n}_bias"), nhwc=True, bgr=False, opset=ONNX_OPSET,
                  ir_version=8)


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


def onnx_model(spec: ModelSpec, weights=None, model=None):
    """The network as an ``onnx.ModelProto`` with its weights (see the module docstring):
    input ``input`` float32 [N, H, W, C] (the preprocessed RGB image, as the Keras model
    reads it), output ``probabilities`` [N, classes] (``output`` [N, H, W, C] for a model
    without a head), one ``Conv`` node per conv layer named like the layer, metadata
    :data:`PREPROCESSING_KEY` / :data:`CONFIG_KEY` / :data:`WEIGHTS_KEY`. Auxiliary
    classifiers (training only) are left out, as ``predict`` leaves them out. Checked with
    ``onnx.checker`` (full check, shapes inferred)."""
    import onnx

    from .config import dumps_config
    from .onnx_zoo import build_onnx, weighted_layers, zoo_from_keras

    analyze(spec)
    model, weights = _model(spec, weights, model)
    naming = _export_naming(spec)
    by_layer = {name: model.get_layer(name).get_weights() for name, *_ in weighted_layers(spec)}
    m = build_onnx(zoo_from_keras(by_layer, spec, naming), spec, batch=None, naming=naming, check=False)
    del by_layer
    m.doc_string = f"{spec.name}, exported by Inception Explorer (inception_viz)"
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


def file_name(spec: ModelSpec, fmt: str, view: str = "overview", tr=None) -> str:
    """The name the app gives the download: ``googlenet.onnx``, ``googlenet_overview.svg``;
    an edited model's names carry the edit (``googlenet-edited-1a2b3c4d.onnx``); its words
    in ``tr``'s language (:func:`graph_stem`)."""
    from .config import file_stem

    f = FORMATS[fmt]
    return f"{graph_stem(spec, view, tr) if f.graph else file_stem(spec)}{f.suffix}"


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
