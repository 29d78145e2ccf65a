"""The ONNX Model Zoo's BVLC GoogLeNet layout (``googlenet-12.onnx``), built with
``onnx.helper`` from numpy weights, and the name/layout mapping between its initializers
and our Keras layers. numpy + onnx only (no TensorFlow, no onnxruntime).

What the zoo file looks like (checked against public sources, 2026-11):

* input ``data_0`` float[1, 3, 224, 224] (NCHW, **BGR**, means 123.68 / 116.779 / 103.939
  subtracted from R / G / B), output ``prob_0`` float[1, 1000]
  (onnx/models ``validated/vision/classification/inception_and_googlenet/googlenet/README.md``);
* initializers ``<caffe layer>_w_0`` / ``_b_0``: ``conv1/7x7_s2``, ``conv2/3x3_reduce``,
  ``conv2/3x3``, ``inception_3a/1x1`` … ``inception_5b/pool_proj``, ``loss3/classifier``
  (the names the Metalhead.jl loader of the zoo weights reads);
* ``loss3/classifier_w_0`` has shape (1000, 1024): Caffe2's FC convention, i.e. ``Gemm``
  with ``transB=1``; the classifier reads ``Reshape(pool5, [1, 1024])`` after ``Dropout``
  (a TVM Relay dump of the zoo model: ``reshape -> dense(W (1000, 1024))``).

Not verified (the ``.onnx`` itself is Git LFS and not readable offline), hence our choice:
names of intermediate tensors. Ours are the Caffe layer names plus ``_0``
(``inception_3a/output_0``, ``pool1/norm1_0``, …); :func:`tap_name` maps a Keras layer to
the ONNX tensor with the same values, and :func:`build_onnx` can add any of them as extra
graph outputs.

Structure, as in Caffe: Conv (explicit pads) + Relu; ceil-mode 3x3/2 max pools as ONNX
``MaxPool`` with asymmetric end padding ``pads=[0, 0, 1, 1]``; ``LRN`` (size 5, alpha 1e-4,
beta 0.75, bias 1; ONNX and Caffe both divide alpha by size); the blocks' 3x3/1 max pool
with ``pads=[1, 1, 1, 1]`` (ONNX max pooling never picks a pad); ``Concat`` on channels in
the order 1x1, 3x3, 5x5, pool_proj; ``AveragePool`` 7x7/1; ``Dropout``; ``Reshape``;
``Gemm``; ``Softmax``.

Layouts: ONNX conv kernels are OIHW, Keras's HWIO; Gemm's B is (out, in) with ``transB=1``,
Keras Dense's kernel (in, out). The zoo graph reads BGR; our Keras models read RGB, so the
first conv's input-channel axis is reversed on import and on export (an exact re-indexing,
no arithmetic). :func:`build_onnx` works for any spec whose layers it knows (every preset),
which is how the benchmark runs onnxruntime on the same network and weights as the app.
With another :class:`Naming` it writes the app's own ONNX export
(:func:`inception_viz.exports.onnx_model`: Keras layer names, NHWC RGB input, opset 17).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .counter import analyze
from .spec import LRN, Conv, Dense, Dropout, Inception, ModelSpec, Pool, Softmax, SpecError

INPUT_NAME = "data_0"
OUTPUT_NAME = "prob_0"
OPSET = 12

#: Keras layer name -> zoo (Caffe) layer name, for the non-block layers of ``googlenet``.
STEM_NAMES = {
    "conv1": "conv1/7x7_s2",
    "conv2_reduce": "conv2/3x3_reduce",
    "conv2": "conv2/3x3",
    "linear": "loss3/classifier",
    # layers without weights (tensor names only)
    "pool1": "pool1/3x3_s2",
    "lrn1": "pool1/norm1",
    "lrn2": "conv2/norm2",
    "pool2": "pool2/3x3_s2",
    "pool3": "pool3/3x3_s2",
    "pool4": "pool4/3x3_s2",
    "pool5": "pool5/7x7_s1",
    "dropout": "pool5/drop_7x7_s1",
    "softmax": "prob",
}
_BLOCK_PART = re.compile(r"^(inception_\w\w)_(1x1|3x3_reduce|3x3|5x5_reduce|5x5|pool_proj|pool)$")


def zoo_layer_name(keras_name: str) -> str:
    """``inception_3a_3x3_reduce`` -> ``inception_3a/3x3_reduce``; ``conv1`` ->
    ``conv1/7x7_s2``; a concat ``inception_3a`` -> ``inception_3a/output``; other names
    unchanged."""
    if keras_name in STEM_NAMES:
        return STEM_NAMES[keras_name]
    m = _BLOCK_PART.match(keras_name)
    if m:
        return f"{m.group(1)}/{m.group(2)}"
    if re.fullmatch(r"inception_\w\w", keras_name):
        return f"{keras_name}/output"
    return keras_name


def weight_names(keras_name: str) -> tuple[str, str]:
    """The zoo initializer names (kernel, bias) of a Keras conv/dense layer."""
    base = zoo_layer_name(keras_name)
    return f"{base}_w_0", f"{base}_b_0"


def tap_name(keras_name: str) -> str:
    """The ONNX tensor in :func:`build_onnx`'s graph holding the same values as the output
    of the Keras layer ``keras_name`` (NCHW instead of NHWC)."""
    return f"{zoo_layer_name(keras_name)}_0"


# -- shapes ---------------------------------------------------------------------------------


def weighted_layers(spec: ModelSpec) -> list[tuple[str, str, tuple[int, ...], int]]:
    """Every layer with weights in ``spec`` (aux heads excluded) as
    ``(keras_name, kind, keras_kernel_shape, units)``: kind ``conv`` (kernel HWIO) or
    ``dense`` (kernel (in, out)); ``units`` = output channels."""
    report = analyze(spec)
    out = []
    for layer in spec.active_layers:
        row = report.row(layer.name)
        if isinstance(layer, Conv):
            out.append((layer.name, "conv", (layer.kernel, layer.kernel, row.input_shape[2], layer.filters), layer.filters))
        elif isinstance(layer, Dense):
            h, w, c = row.input_shape
            units = layer.units or spec.classes
            out.append((layer.name, "dense", (h * w * c, units), units))
        elif isinstance(layer, Inception):
            for part in row.parts:
                if part.kind == "conv":
                    k = 1 if part.name.endswith(("_1x1", "_reduce", "_pool_proj")) else (3 if part.name.endswith("_3x3") else 5)
                    cin, cout = part.input_shape[2], part.output_shape[2]
                    out.append((part.name, "conv", (k, k, cin, cout), cout))
    return out


def expected_shapes(spec: ModelSpec, names: Callable[[str], tuple[str, str]] = None) -> dict[str, tuple[int, ...]]:
    """Zoo initializer name (or ``names(keras_layer)``'s) -> ONNX shape (conv OIHW, Gemm B
    (out, in), biases (out,))."""
    names = names or weight_names
    shapes: dict[str, tuple[int, ...]] = {}
    for name, kind, kshape, units in weighted_layers(spec):
        wn, bn = names(name)
        if kind == "conv":
            kh, kw, cin, cout = kshape
            shapes[wn] = (cout, cin, kh, kw)
        else:
            shapes[wn] = (kshape[1], kshape[0])
        shapes[bn] = (units,)
    return shapes


def _first_conv(spec: ModelSpec) -> str | None:
    for layer in spec.active_layers:
        if isinstance(layer, Conv):
            return layer.name if spec.input_shape[2] == 3 else None
        if isinstance(layer, (Inception, Dense)):
            return None
    return None


# -- layout conversion ---------------------------------------------------------------------


def keras_from_zoo(initializers: dict[str, np.ndarray], spec: ModelSpec) -> dict[str, list[np.ndarray]]:
    """Zoo-named ONNX arrays -> ``{keras_layer: [kernel, bias]}`` in Keras layout.

    Every initializer ``spec`` needs must be present with exactly the expected shape;
    otherwise :class:`SpecError` names the first offending initializer. Extra initializers
    are ignored (the caller may list them)."""
    expected = expected_shapes(spec)
    for name, shape in expected.items():
        if name not in initializers:
            raise SpecError(f"{name}: missing from the weights file (expected shape {shape}); is this the ONNX Model Zoo's googlenet-12.onnx?")
        got = tuple(np.shape(initializers[name]))
        if got != shape:
            raise SpecError(f"{name}: expected shape {shape}, got {got}")
    first = _first_conv(spec)
    out: dict[str, list[np.ndarray]] = {}
    for name, kind, _kshape, _units in weighted_layers(spec):
        wn, bn = weight_names(name)
        w = np.asarray(initializers[wn], dtype=np.float32)
        b = np.asarray(initializers[bn], dtype=np.float32)
        if kind == "conv":
            if name == first:
                w = w[:, ::-1]  # BGR input channels -> RGB
            k = np.ascontiguousarray(w.transpose(2, 3, 1, 0))  # OIHW -> HWIO
        else:
            k = np.ascontiguousarray(w.T)  # Gemm B (out, in), transB=1 -> Dense (in, out)
        out[name] = [k, b.copy()]
    return out


def zoo_from_keras(by_layer: dict[str, list[np.ndarray]], spec: ModelSpec, naming: "Naming | None" = None) -> dict[str, np.ndarray]:
    """``{keras_layer: [kernel, bias]}`` (Keras layout) -> ONNX-layout arrays named by
    ``naming`` (default the zoo's; its first conv reads BGR)."""
    naming = naming or ZOO
    first = _first_conv(spec) if naming.bgr else None
    out: dict[str, np.ndarray] = {}
    for name, kind, kshape, _units in weighted_layers(spec):
        if name not in by_layer:
            raise SpecError(f"layer {name} has no weights to export")
        k, b = (np.asarray(a, dtype=np.float32) for a in by_layer[name][:2])
        if tuple(k.shape) != tuple(kshape):
            raise SpecError(f"{name}: expected kernel shape {tuple(kshape)}, got {tuple(k.shape)}")
        wn, bn = naming.weights(name)
        if kind == "conv":
            w = k.transpose(3, 2, 0, 1)  # HWIO -> OIHW
            if name == first:
                w = w[:, ::-1]  # RGB -> BGR input channels
            out[wn] = np.ascontiguousarray(w)
        else:
            out[wn] = np.ascontiguousarray(k.T)
        out[bn] = b.copy()
    return out


def random_zoo_weights(spec: ModelSpec | None = None, seed: int = 0, logit_std: float = 3.0,
                       feature_scale: float = 60.0) -> dict[str, np.ndarray]:
    """Random zoo-named weights for ``spec`` (default: the ``googlenet`` preset): He-normal
    kernels, small positive biases (so ReLUs stay alive), and a classifier scaled so the
    logits spread over about ``logit_std`` for mean-subtracted 0..255 images (He-normal
    ReLU layers keep the input's scale, ~``feature_scale``), so the top-5 are distinct and
    the probabilities are not saturated."""
    from .presets import preset

    spec = spec or preset("googlenet")
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in expected_shapes(spec).items():
        if name.endswith("_b_0"):
            out[name] = rng.uniform(0.0, 0.1, size=shape).astype(np.float32)
        elif len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            out[name] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        else:
            std = logit_std / (np.sqrt(shape[1]) * feature_scale)
            out[name] = (rng.standard_normal(shape) * std).astype(np.float32)
    return out


# -- the graph -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Naming:
    """How :func:`build_onnx` names and lays out the graph.

    ``tensor`` / ``node`` / ``weights``: Keras layer name -> the ONNX tensor holding its
    output, its node, its (kernel, bias) initializers. ``nhwc``: the graph input is NHWC
    (a ``Transpose`` to NCHW follows it; a feature-map output is transposed back), else
    NCHW. ``bgr``: the first conv's weights read BGR (the zoo). ``batch=None`` in
    :func:`build_onnx` makes the batch dimension symbolic (``N``)."""

    input: str
    output: str
    tensor: Callable[[str], str]
    node: Callable[[str], str]
    weights: Callable[[str], tuple[str, str]]
    nhwc: bool = False
    bgr: bool = True
    opset: int = OPSET
    ir_version: int = 7


#: The ONNX Model Zoo's googlenet-12.onnx.
ZOO = Naming(INPUT_NAME, OUTPUT_NAME, tap_name, zoo_layer_name, weight_names)


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's "same" padding (begin, end) for one side."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def build_onnx(
    weights: dict[str, np.ndarray],
    spec: ModelSpec | None = None,
    extra_outputs: tuple[str, ...] = (),
    batch: int | None = 1,
    naming: Naming | None = None,
    check: bool = True,
):
    """An ``onnx.ModelProto`` of ``spec`` (default ``googlenet``) written layer by layer from
    the spec with ``weights`` in ONNX layout (see :func:`expected_shapes`), named by
    ``naming`` (default :data:`ZOO`: input ``data_0`` (batch, C, H, W), BGR for a 3-channel
    input; output ``prob_0``). ``extra_outputs``: Keras layer names whose outputs become
    extra graph outputs (named by ``naming.tensor``, NCHW). ``batch=None``: symbolic batch
    ``N``. Checked with ``onnx.checker`` unless ``check=False`` (the caller checks)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from .presets import preset

    naming = naming or ZOO
    spec = spec or preset("googlenet")
    report = analyze(spec)
    expected = expected_shapes(spec, naming.weights)
    for name, shape in expected.items():
        if name not in weights or tuple(np.shape(weights[name])) != shape:
            got = tuple(np.shape(weights[name])) if name in weights else "missing"
            raise SpecError(f"{name}: expected shape {shape}, got {got}")
    nodes, inits = [], []
    for name in expected:
        inits.append(numpy_helper.from_array(np.asarray(weights[name], dtype=np.float32), name))
    n_dim = "N" if batch is None else batch

    def conv(x: str, keras_name: str, k: int, stride: int, pads, relu: bool = True) -> str:
        wn, bn = naming.weights(keras_name)
        base = naming.node(keras_name)
        out = naming.tensor(keras_name)
        raw = f"{base}_conv_0" if relu else out
        nodes.append(helper.make_node("Conv", [x, wn, bn], [raw], name=base, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=list(pads)))
        if not relu:
            return raw
        nodes.append(helper.make_node("Relu", [raw], [out], name=f"{base}_relu"))
        return out

    def conv_pads(layer: Conv, h: int, w: int):
        if isinstance(layer.padding, int):
            p = layer.padding
            return [p, p, p, p]
        if layer.padding == "valid":
            return [0, 0, 0, 0]
        t, b = _same_pads(h, layer.kernel, layer.stride)
        l, r = _same_pads(w, layer.kernel, layer.stride)
        return [t, l, b, r]

    x = naming.input
    if naming.nhwc:  # the network computes in NCHW, as ONNX's Conv and pools do
        x = f"{naming.input}_nchw"
        nodes.append(helper.make_node("Transpose", [naming.input], [x], name="input_to_nchw", perm=[0, 3, 1, 2]))
    for layer in spec.active_layers:
        row = report.row(layer.name)
        ih, iw, ic = row.input_shape
        out = naming.tensor(layer.name)
        zname = naming.node(layer.name)
        if isinstance(layer, Conv):
            if layer.activation not in ("relu", None):
                raise SpecError(f"{layer.name}: activation {layer.activation!r} cannot be exported to ONNX")
            x = conv(x, layer.name, layer.kernel, layer.stride, conv_pads(layer, ih, iw), layer.activation == "relu")
        elif isinstance(layer, Pool):
            op = "MaxPool" if layer.op == "max" else "AveragePool"
            oh, ow, _ = row.output_shape
            if layer.padding == "global":
                kw_ = dict(kernel_shape=[ih, iw], strides=[1, 1])
            elif layer.padding == "ceil":  # Caffe: the last window may run over the border
                eh = max(0, (oh - 1) * layer.stride + layer.size - ih)
                ew = max(0, (ow - 1) * layer.stride + layer.size - iw)
                kw_ = dict(kernel_shape=[layer.size] * 2, strides=[layer.stride] * 2, pads=[0, 0, eh, ew])
            elif layer.padding == "same":
                t, b = _same_pads(ih, layer.size, layer.stride)
                l, r = _same_pads(iw, layer.size, layer.stride)
                kw_ = dict(kernel_shape=[layer.size] * 2, strides=[layer.stride] * 2, pads=[t, l, b, r])
            else:
                kw_ = dict(kernel_shape=[layer.size] * 2, strides=[layer.stride] * 2)
            nodes.append(helper.make_node(op, [x], [out], name=zname, **kw_))
            x = out
        elif isinstance(layer, LRN):
            nodes.append(helper.make_node("LRN", [x], [out], name=zname, size=layer.size, alpha=layer.alpha,
                                          beta=layer.beta, bias=layer.k))
            x = out
        elif isinstance(layer, Inception):
            n = layer.name
            branches = []
            if layer.w1x1:
                branches.append(conv(x, f"{n}_1x1", 1, 1, [0] * 4))
            for key, red, width, k in (("3x3", layer.w3x3_reduce, layer.w3x3, 3), ("5x5", layer.w5x5_reduce, layer.w5x5, 5)):
                if width:
                    src = conv(x, f"{n}_{key}_reduce", 1, 1, [0] * 4) if red else x
                    branches.append(conv(src, f"{n}_{key}", k, 1, [k // 2] * 4))
            pooled = naming.tensor(f"{n}_pool")
            nodes.append(helper.make_node("MaxPool", [x], [pooled], name=naming.node(f"{n}_pool"),
                                          kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]))
            branches.append(conv(pooled, f"{n}_pool_proj", 1, 1, [0] * 4) if layer.pool_proj else pooled)
            if len(branches) == 1:
                nodes.append(helper.make_node("Identity", branches, [out], name=zname))
            else:
                nodes.append(helper.make_node("Concat", branches, [out], name=zname, axis=1))
            x = out
        elif isinstance(layer, Dropout):
            nodes.append(helper.make_node("Dropout", [x], [out], name=zname))
            x = out
        elif isinstance(layer, Dense):
            if ih * iw > 1:  # Keras flattens NHWC: bring channels last first
                nodes.append(helper.make_node("Transpose", [x], [f"{zname}_nhwc_0"], name=f"{zname}_nhwc", perm=[0, 2, 3, 1]))
                x = f"{zname}_nhwc_0"
            flat = f"{zname}_flat_0"
            if batch is None:
                nodes.append(helper.make_node("Flatten", [x], [flat], name=f"{zname}_flatten", axis=1))
            else:
                shape_name = f"{zname}_shape_0"
                inits.append(numpy_helper.from_array(np.array([batch, ih * iw * ic], dtype=np.int64), shape_name))
                nodes.append(helper.make_node("Reshape", [x, shape_name], [flat], name=f"{zname}_reshape"))
            wn, bn = naming.weights(layer.name)
            if layer.activation in (None, "relu", "softmax"):
                gemm_out = out if layer.activation is None else f"{zname}_gemm_0"
                nodes.append(helper.make_node("Gemm", [flat, wn, bn], [gemm_out], name=zname, transB=1))
                if layer.activation == "relu":
                    nodes.append(helper.make_node("Relu", [gemm_out], [out], name=f"{zname}_relu"))
                elif layer.activation == "softmax":
                    nodes.append(helper.make_node("Softmax", [gemm_out], [out], name=f"{zname}_softmax", axis=1))
            else:
                raise SpecError(f"{layer.name}: activation {layer.activation!r} cannot be exported to ONNX")
            x = out
        elif isinstance(layer, Softmax):
            nodes.append(helper.make_node("Softmax", [x], [out], name=zname, axis=1))
            x = out
        else:  # pragma: no cover
            raise SpecError(f"{layer.name}: cannot be exported to ONNX")
    h, w, c = spec.input_shape
    oh, ow, oc = report.output_shape
    last = spec.active_layers[-1]
    flat_out = isinstance(last, (Softmax, Dense))
    if naming.nhwc and not flat_out:  # a feature map leaves as NHWC, as Keras gives it
        nodes.append(helper.make_node("Transpose", [x], [naming.output], name="output_to_nhwc", perm=[0, 2, 3, 1]))
        final = [n_dim, oh, ow, oc]
    else:
        if x != naming.output:  # the zoo's softmax "prob" writes prob_0 itself
            nodes.append(helper.make_node("Identity", [x], [naming.output], name="output"))
        final = [n_dim, oc] if flat_out else [n_dim, oc, oh, ow]
    in_dims = [n_dim, h, w, c] if naming.nhwc else [n_dim, c, h, w]
    inputs = [helper.make_tensor_value_info(naming.input, TensorProto.FLOAT, in_dims)]
    outputs = [helper.make_tensor_value_info(naming.output, TensorProto.FLOAT, final)]
    rows = {r.name: r for r in report.leaf_rows()}
    for name in extra_outputs:
        if name not in rows:
            raise SpecError(f"no layer named {name!r} to add as an ONNX output")
        th, tw, tc = rows[name].output_shape
        flat = rows[name].kind in ("dense", "softmax")
        dims = [n_dim, tc] if flat else [n_dim, tc, th, tw]
        outputs.append(helper.make_tensor_value_info(naming.tensor(name), TensorProto.FLOAT, dims))
    graph = helper.make_graph(nodes, spec.name or "googlenet", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", naming.opset)], producer_name="inception_viz")
    model.ir_version = naming.ir_version
    if check:
        onnx.checker.check_model(model)
    return model


def keras_to_zoo_onnx(model, spec: ModelSpec | None = None, extra_outputs: tuple[str, ...] = ()):
    """Export a Keras model built by :func:`~inception_viz.keras_model.build_keras` to the
    zoo layout (same network, same weights): ``onnxruntime`` on ``data_0`` = BGR NCHW of
    the same image gives the Keras model's probabilities. ``spec`` defaults to the
    ``googlenet`` preset (the benchmark's model)."""
    from .presets import preset

    spec = spec or preset("googlenet")
    by_layer = {}
    for name, _kind, _shape, _units in weighted_layers(spec):
        by_layer[name] = [np.asarray(v) for v in model.get_layer(name).get_weights()]
    return build_onnx(zoo_from_keras(by_layer, spec), spec, extra_outputs)
