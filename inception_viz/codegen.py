"""Keras code for a spec, in the style of the lecture's ``inception(...)`` helper.

:func:`keras_code` returns a self-contained Python script (plain Keras 3 layers, no import
of this package) that a lecturer pastes into a notebook. It builds the same network as
:func:`inception_viz.keras_model.build_keras`: the same parameters layer by layer, the
same output shapes. Two layers the lecture's Keras does not have are written with
standard layers:

* Caffe's ceil-mode max pool (``googlenet``) = zero padding at the bottom/right, then a
  valid max pool. Zeros never win: the pooled values follow a ReLU, so they are >= 0.
* Caffe's LRN = ``tf.nn.local_response_normalization`` with ``alpha / size`` in a Lambda.

With the auxiliary classifiers on, the script writes them too (Figure 3 of the paper,
:data:`AUX_HELPER`, built like :func:`inception_viz.keras_model._aux`) and the model has
three outputs: the network's probabilities first, then ``aux1``'s and ``aux2``'s. Its
``count_params()`` is then the counter's total with the auxiliary heads.
"""

from __future__ import annotations

from .counter import Report, analyze, fmt_int
from .graph import shape_str
from .presets import widths_to_lecture_args
from .spec import LRN, Conv, Dense, Dropout, Inception, ModelSpec, Pool, Softmax

HELPER = '''\
def inception(x, F3x3_1x1, F3x3, F5x5_1x1, F5x5, F1x1, Fmp_1x1, name):
    """The lecture's Inception block (Figure 2(b)), with the two fixes the notes ask for:
    padding="same" (keep HxW) and activation="relu".

    A width of 0 means: F1x1/F3x3/F5x5 = 0 drops that branch; F3x3_1x1/F5x5_1x1 = 0
    skips the 1x1 reduction (the naive Figure 2(a)); Fmp_1x1 = 0 passes the pooled
    input unprojected."""
    branches = []
    if F1x1:
        branches.append(Conv2D(F1x1, (1, 1), padding="same", activation="relu", name=f"{name}_1x1")(x))
    if F3x3:
        c3x3_1x1 = Conv2D(F3x3_1x1, (1, 1), padding="same", activation="relu", name=f"{name}_3x3_reduce")(x) if F3x3_1x1 else x
        branches.append(Conv2D(F3x3, (3, 3), padding="same", activation="relu", name=f"{name}_3x3")(c3x3_1x1))
    if F5x5:
        c5x5_1x1 = Conv2D(F5x5_1x1, (1, 1), padding="same", activation="relu", name=f"{name}_5x5_reduce")(x) if F5x5_1x1 else x
        branches.append(Conv2D(F5x5, (5, 5), padding="same", activation="relu", name=f"{name}_5x5")(c5x5_1x1))
    mp = MaxPooling2D((3, 3), strides=(1, 1), padding="same", name=f"{name}_pool")(x)
    branches.append(Conv2D(Fmp_1x1, (1, 1), padding="same", activation="relu", name=f"{name}_pool_proj")(mp) if Fmp_1x1 else mp)
    if len(branches) == 1:
        return branches[0]
    return Concatenate(axis=3, name=name)(branches)
'''

LRN_HELPER = '''\
def lrn(x, name, size=5, alpha=1e-4, beta=0.75, k=1.0):
    """Caffe's local response normalisation (TensorFlow does not divide alpha by size)."""
    return Lambda(lambda t: tf.nn.local_response_normalization(
        t, depth_radius=size // 2, bias=k, alpha=alpha / size, beta=beta), name=name)(x)
'''


AUX_HELPER = '''\
def aux_classifier(x, name, classes):
    """An auxiliary classifier (the paper's Figure 3; used in training only): average pool
    5x5/3, 1x1 conv 128 + ReLU, FC 1024 + ReLU, dropout 70 %, linear, softmax."""
    x = AveragePooling2D((5, 5), strides=(3, 3), padding="valid", name=f"{name}_pool")(x)
    x = Conv2D(128, (1, 1), padding="same", activation="relu", name=f"{name}_conv")(x)
    x = Flatten(name=f"{name}_fc_flatten")(x)
    x = Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = Dropout(0.7, name=f"{name}_dropout")(x)
    x = Dense(classes, activation=None, name=f"{name}_classifier")(x)
    return Softmax(name=f"{name}_softmax")(x)
'''


def _func_name(spec: ModelSpec) -> str:
    base = "".join(c if c.isalnum() else "_" for c in (spec.preset or spec.name or "model"))
    return {"googlenet": "GoogLeNet", "simplified": "InceptionV1", "block": "InceptionBlock", "naive": "NaiveGoogLeNet"}.get(base, base)


def _ceil_pads(size: int, k: int, s: int) -> int:
    out = -(-(size - k) // s) + 1
    if (out - 1) * s >= size:
        out -= 1
    return max(0, (out - 1) * s + k - size)


def _layer_lines(layer, report: Report, spec: ModelSpec) -> list[str]:
    row = report.row(layer.name)
    shape = f"  # -> {shape_str(row.output_shape)}"
    n = layer.name
    if isinstance(layer, Conv):
        pad = layer.padding
        lines = []
        if isinstance(pad, int):
            if pad:
                lines.append(f'x = ZeroPadding2D({pad}, name="{n}_pad")(x)')
            pad = "valid"
        act = f'"{layer.activation}"' if layer.activation else "None"
        lines.append(
            f'x = Conv2D({layer.filters}, ({layer.kernel}, {layer.kernel}), strides=({layer.stride}, {layer.stride}), '
            f'padding="{pad}", activation={act}, name="{n}")(x){shape}'
        )
        return lines
    if isinstance(layer, Pool):
        if layer.padding == "global":
            cls = "GlobalAveragePooling2D" if layer.op == "avg" else "GlobalMaxPooling2D"
            return [f'x = {cls}(keepdims=True, name="{n}")(x){shape}']
        cls = "MaxPooling2D" if layer.op == "max" else "AveragePooling2D"
        if layer.padding == "ceil":
            h, w, _ = row.input_shape
            ph, pw = _ceil_pads(h, layer.size, layer.stride), _ceil_pads(w, layer.size, layer.stride)
            lines = []
            if ph or pw:
                lines.append(f'x = ZeroPadding2D(((0, {ph}), (0, {pw})), name="{n}_ceil_pad")(x)  # Caffe ceil mode')
            lines.append(f'x = {cls}(({layer.size}, {layer.size}), strides=({layer.stride}, {layer.stride}), padding="valid", name="{n}")(x){shape}')
            return lines
        return [f'x = {cls}(({layer.size}, {layer.size}), strides=({layer.stride}, {layer.stride}), padding="{layer.padding}", name="{n}")(x){shape}']
    if isinstance(layer, LRN):
        return [f'x = lrn(x, "{n}", size={layer.size}, alpha={layer.alpha!r}, beta={layer.beta!r}, k={layer.k!r}){shape}']
    if isinstance(layer, Inception):
        args = ", ".join(str(v) for v in widths_to_lecture_args(layer.width_tuple))
        return [f'x = inception(x, {args}, "{n}"){shape}, {fmt_int(row.params)} params']
    if isinstance(layer, Dropout):
        return [f'x = Dropout({layer.rate!r}, name="{n}")(x)']
    if isinstance(layer, Dense):
        units = layer.units or "classes"
        act = f'"{layer.activation}"' if layer.activation else "None"
        return [
            f'x = Flatten(name="{n}_flatten")(x)',
            f'x = Dense({units}, activation={act}, name="{n}")(x)  # -> {row.output_shape[2]}',
        ]
    if isinstance(layer, Softmax):
        return [f'x = Softmax(name="{n}")(x)']
    raise TypeError(f"unknown layer {layer!r}")


def code_params(spec: ModelSpec) -> int:
    """The parameters of the network :func:`keras_code` writes: the counter's total
    (auxiliary heads included when they are on)."""
    return analyze(spec).total_params


def keras_code(spec: ModelSpec) -> str:
    """A runnable script that builds ``spec`` with Keras (see the module docstring),
    auxiliary classifiers included when ``spec.aux`` is on."""
    report = analyze(spec)
    active = spec.active_layers
    aux_after = {a.after: a.name for a in spec.active_aux_heads}
    params, macs = report.total_params, report.total_macs
    aux_note = (
        [f"With the auxiliary classifiers {', '.join(aux_after.values())} (training only): the model's",
         "first output is the network's, the others are theirs."]
        if aux_after else []
    )
    uses_lrn = any(isinstance(l, LRN) for l in active)
    name = _func_name(spec)
    imports = [
        *(["import tensorflow as tf"] if uses_lrn else []),
        "from keras.layers import (Concatenate, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,",
        "                          GlobalMaxPooling2D, Input, Lambda, MaxPooling2D, AveragePooling2D,",
        "                          Softmax, ZeroPadding2D)",
        "from keras.models import Model",
    ]
    body = []
    for layer in active:
        body.extend(_layer_lines(layer, report, spec))
        if layer.name in aux_after:
            aux = aux_after[layer.name]
            body.append(f'aux_outputs.append(aux_classifier(x, "{aux}", classes))  # {fmt_int(report.row(aux).params)} params')
    has_classes = bool(aux_after) or any(isinstance(l, Dense) and l.units is None for l in active)
    sig = f"input_shape={tuple(spec.input_shape)!r}" + (f", classes={spec.classes}" if has_classes else "")
    outputs = "[x, *aux_outputs]" if aux_after else "x"
    lines = [
        f'"""{spec.name}: {fmt_int(params)} parameters, {fmt_int(macs)} multiply-adds.',
        "",
        "Generated by Inception Explorer (inception_viz). The inception(...) helper takes the",
        "lecture's argument order: F3x3_1x1, F3x3, F5x5_1x1, F5x5, F1x1, Fmp_1x1.",
        "Shapes in the comments are for the default input_shape (so are the ceil-mode pads).",
        *aux_note,
        '"""',
        *imports,
        "",
        "",
        HELPER,
        *(["", LRN_HELPER] if uses_lrn else []),
        *(["", AUX_HELPER] if aux_after else []),
        "",
        f"def {name}({sig}):",
        '    inputs = Input(shape=input_shape, name="input")',
        "    x = inputs",
        *(["    aux_outputs = []"] if aux_after else []),
        *[f"    {line}" for line in body],
        f'    return Model(inputs, {outputs}, name="{spec.name}")',
        "",
        "",
        f"model = {name}()",
        'if __name__ == "__main__":',
        "    model.summary()",
        f"    print(f\"Total params: {{model.count_params():,}} (expected {fmt_int(params)})\")",
        "",
    ]
    return "\n".join(lines)


__all__ = ["keras_code", "code_params", "HELPER", "AUX_HELPER"]
