"""The presets: the paper's GoogLeNet, the lecture's simplified version, the lecture's
single-block demo, and GoogLeNet with every block in the naive Figure 2(a) form."""

from __future__ import annotations

import dataclasses

from .i18n import N_
from .spec import (
    LRN,
    AuxHead,
    Conv,
    Dense,
    Dropout,
    Inception,
    ModelSpec,
    Pool,
    Softmax,
    SpecError,
    WIDTH_KEYS,
)

#: Table 1 of Szegedy et al. 2015, in the paper's column order
#: (1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj).
PAPER_WIDTHS: dict[str, tuple[int, ...]] = {
    "inception_3a": (64, 96, 128, 16, 32, 32),
    "inception_3b": (128, 128, 192, 32, 96, 64),
    "inception_4a": (192, 96, 208, 16, 48, 64),
    "inception_4b": (160, 112, 224, 24, 64, 64),
    "inception_4c": (128, 128, 256, 24, 64, 64),
    "inception_4d": (112, 144, 288, 32, 64, 64),
    "inception_4e": (256, 160, 320, 32, 128, 128),
    "inception_5a": (256, 160, 320, 32, 128, 128),
    "inception_5b": (384, 192, 384, 48, 128, 128),
}

#: The lecture's simplified InceptionV1 calls ``bottleneck(x, F3x3_1x1, F3x3, F5x5_1x1,
#: F5x5, F1x1, Fmp_1x1, name)``; these are its arguments exactly as the seed writes them.
SIMPLIFIED_ARGS: dict[str, tuple[int, ...]] = {
    "inception_3a": (96, 128, 16, 32, 64, 32),
    "inception_3b": (128, 128, 32, 96, 128, 64),
    "inception_4a": (96, 208, 16, 48, 192, 32),
    "inception_4b": (112, 224, 24, 64, 160, 64),
    "inception_4c": (128, 256, 24, 64, 128, 64),
    "inception_4d": (144, 288, 32, 64, 112, 64),
    "inception_4e": (160, 320, 32, 128, 256, 128),
    "inception_5a": (160, 320, 32, 128, 256, 128),
    "inception_5b": (192, 384, 48, 128, 384, 128),
}

#: The lecture's single-block demo: ``inception(x, 5, 10, 20, 30, 40, 50)`` on 32x32x64.
BLOCK_DEMO_ARGS: tuple[int, ...] = (5, 10, 20, 30, 40, 50)


def lecture_args_to_widths(args: tuple[int, ...]) -> tuple[int, ...]:
    """The lecture's helper order ``(F3x3_1x1, F3x3, F5x5_1x1, F5x5, F1x1, Fmp_1x1)``
    to the paper's order ``(1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj)``."""
    r3, c3, r5, c5, c1, pp = args
    return (c1, r3, c3, r5, c5, pp)


def widths_to_lecture_args(widths: tuple[int, ...]) -> tuple[int, ...]:
    c1, r3, c3, r5, c5, pp = widths
    return (r3, c3, r5, c5, c1, pp)


def _blocks(widths: dict[str, tuple[int, ...]], names: tuple[str, ...]) -> list[Inception]:
    return [Inception(n, *widths[n]) for n in names]


def googlenet() -> ModelSpec:
    """The paper's GoogLeNet, laid out so the Caffe BVLC weights load unchanged:
    conv1 padded 3 on every side then a valid 7x7/2 conv; max pools in Caffe's ceil mode;
    LRN with Caffe's semantics; the final average pool is global (7x7/1 at 224x224)."""
    w = PAPER_WIDTHS
    layers = [
        Conv("conv1", 64, 7, stride=2, padding=3),  # 224 -> 112x112x64
        Pool("pool1", "max", 3, 2, "ceil"),  # -> 56x56x64
        LRN("lrn1"),
        Conv("conv2_reduce", 64, 1),  # -> 56x56x64
        Conv("conv2", 192, 3, padding=1),  # -> 56x56x192
        LRN("lrn2"),
        Pool("pool2", "max", 3, 2, "ceil"),  # -> 28x28x192
        *_blocks(w, ("inception_3a", "inception_3b")),  # -> 28x28x256, 28x28x480
        Pool("pool3", "max", 3, 2, "ceil"),  # -> 14x14x480
        *_blocks(w, ("inception_4a", "inception_4b", "inception_4c", "inception_4d", "inception_4e")),
        Pool("pool4", "max", 3, 2, "ceil"),  # -> 7x7x832
        *_blocks(w, ("inception_5a", "inception_5b")),  # -> 7x7x1024
        Pool("pool5", "avg", 7, 1, "global"),  # -> 1x1x1024
        Dropout("dropout", 0.4),
        Dense("linear"),  # -> classes
        Softmax("softmax"),
    ]
    return ModelSpec(
        name="googlenet",
        preset="googlenet",
        layers=tuple(layers),
        input_shape=(224, 224, 3),
        classes=1000,
        lrn=True,
        aux=False,
        aux_heads=(AuxHead("aux1", "inception_4a"), AuxHead("aux2", "inception_4d")),
        description=N_(
            "GoogLeNet exactly as in Szegedy et al. 2015, Table 1 (22 layers with parameters). "
            "Laid out like the Caffe BVLC model: conv1 pads 3 then convolves, max pools use "
            "Caffe's ceil mode, LRN uses Caffe's semantics. The 7x7/1 average pool is written "
            "as a global average, which is the same at 224x224 and keeps the classifier at "
            "1024 x classes for other input sizes."
        ),
    )


def simplified() -> ModelSpec:
    """The lecture's simplified ``InceptionV1(input_shape, classes)`` exactly as written:
    stride-2 1x1 and 3x3 convolutions in the stem, ``padding="same"`` everywhere, no LRN,
    no dropout, global average pooling."""
    w = {n: lecture_args_to_widths(a) for n, a in SIMPLIFIED_ARGS.items()}
    layers = [
        Conv("c1", 64, 7, stride=2),  # 224 -> 112
        Pool("mp1", "max", 3, 2, "same"),  # -> 56
        Conv("c2_1x1", 64, 1, stride=2),  # -> 28 (the paper keeps 56)
        Conv("c2_3x3", 192, 3, stride=2),  # -> 14 (the paper keeps 56)
        Pool("mp2", "max", 3, 2, "same"),  # -> 7 (the paper: 28)
        *_blocks(w, ("inception_3a", "inception_3b")),  # 7x7
        Pool("mp3", "max", 3, 2, "same"),  # -> 4
        *_blocks(w, ("inception_4a", "inception_4b", "inception_4c", "inception_4d", "inception_4e")),
        Pool("mp4", "max", 3, 2, "same"),  # -> 2
        *_blocks(w, ("inception_5a", "inception_5b")),  # 2x2
        Pool("gap", "avg", 1, 1, "global"),
        Dense("predictions", activation="softmax"),
    ]
    return ModelSpec(
        name="simplified",
        preset="simplified",
        layers=tuple(layers),
        input_shape=(224, 224, 3),
        classes=1000,
        lrn=True,  # there are no LRN layers; the option has no effect
        description=N_(
            "The lecture's simplified InceptionV1(input_shape, classes), exactly as written in "
            "the notes. Its 1x1 (c2_1x1) and 3x3 (c2_3x3) stem convolutions have stride 2, which "
            "the paper's do not: the blocks see 7x7 (3a/3b), 4x4 (4a-4e) and 2x2 (5a/5b) maps "
            "instead of the paper's 28x28, 14x14 and 7x7, so it needs about 16x fewer "
            "multiply-adds. Two widths also differ from Table 1 as written in the notes: "
            "inception_3b has 3x3 = 128 (paper 192) and inception_4a has pool_proj = 32 "
            "(paper 64). No LRN, no dropout."
        ),
    )


def block() -> ModelSpec:
    """The lecture's single-block demo: ``inception(x, 5, 10, 20, 30, 40, 50)`` on a
    32x32x64 input, no head. 22,965 parameters and 40+10+30+50 = 130 output maps."""
    return ModelSpec(
        name="block",
        preset="block",
        layers=(Inception("inception_3a", *lecture_args_to_widths(BLOCK_DEMO_ARGS)),),
        input_shape=(32, 32, 64),
        classes=0,
        lrn=True,
        description=N_(
            "The lecture's single-block demo, inception(x, 5, 10, 20, 30, 40, 50) on a 32x32x64 "
            "input (the notes call the block 'block1'). 22,965 parameters; it outputs "
            "40 + 10 + 30 + 50 = 130 feature maps, not the 160 the slide says."
        ),
    )


def naive() -> ModelSpec:
    """GoogLeNet with every block in the naive Figure 2(a) form: no 1x1 reductions and an
    unprojected pool branch, so every concat also carries its input channels."""
    spec = googlenet()
    for b in spec.blocks:
        spec = spec.with_block(b.name, **{"3x3_reduce": 0, "5x5_reduce": 0, "pool_proj": 0})
    return dataclasses.replace(
        spec,
        name="naive",
        preset="naive",
        description=N_(
            "GoogLeNet with every Inception block in the naive form of Figure 2(a): the 3x3 and "
            "5x5 convs read the block input directly and the pooled input passes unprojected. "
            "Channels pile up block after block, which is the paper's argument for the 1x1 "
            "reductions of Figure 2(b)."
        ),
    )


PRESETS = {"googlenet": googlenet, "simplified": simplified, "block": block, "naive": naive}
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)


def preset(name: str) -> ModelSpec:
    """The preset ``name``; a :class:`SpecError` names the allowed values otherwise."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise SpecError(
            f"unknown preset {name!r}; allowed: {', '.join(PRESET_NAMES)}"
        ) from None


assert all(len(v) == len(WIDTH_KEYS) for v in PAPER_WIDTHS.values())
