"""CLI commands on images: ``predict``, ``activations`` and ``weights``.

``python -m inception_viz predict IMAGE [--weights random|imagenet|FILE] [--top K] [--format text|json]``
  JSON (a contract): ``{"predictions": [{"index": int, "label": str, "prob": float}, ...],
  "notes": [str, ...]}``, highest probability first; ``notes`` (random weights,
  re-initialised layers, a network that differs from the one the weights were trained as:
  LRN, input size, classes) is also written to stderr, one ``note:`` line each.
``python -m inception_viz activations IMAGE --block NAME --out DIR [--sort index|mean] [--gradcam]``
  writes one PNG mosaic per branch and one for the concat (``--block stem``: one per stem
  layer), named ``<block>_<branch>.png``, and prints each path with its colour scale.
``python -m inception_viz rf IMAGE --block NAME [--branch KEY] [--unit ROW COL] [--square PX] --out FILE.png [--format text|json]``
  a unit's theoretical receptive field and its effective one (gradient mass radii), with a
  PNG of the gradient heat map and the theoretical field; IMAGE ``samples`` averages over
  the four sample photos in one backward pass. JSON keys: see README "Receptive fields".
``python -m inception_viz weights download|install FILE|where``
  gets the ONNX Model Zoo GoogLeNet into the cache (SHA-256 checked).

IMAGE is a file (JPEG, PNG, WebP, BMP, GIF) or the name of a bundled sample photo (cat,
coffee, astronaut, rocket). TensorFlow is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .spec import SpecError


def _image(arg: str):
    from .images import SAMPLES, load_sample, read_image_file

    if not Path(arg).exists() and arg in SAMPLES:
        return load_sample(arg)
    return read_image_file(arg)


def add_weights_args(p: argparse.ArgumentParser, default: str | None = "random") -> None:
    """``--weights SOURCE`` and ``--seed N``, as ``predict`` reads them (:func:`resolve_weights`)."""
    p.add_argument("--weights", default=default, metavar="SOURCE",
                   help="random (default), imagenet (the cached ONNX Model Zoo file), or a .onnx/.keras/.weights.h5 file")
    p.add_argument("--seed", type=int, default=0, help="seed of the random initialisation (default 0)")


def _common(p: argparse.ArgumentParser) -> None:
    from .cli import _add_model_args

    p.add_argument("image", metavar="IMAGE", help="image file, or a bundled sample: cat, coffee, astronaut, rocket")
    _add_model_args(p)
    add_weights_args(p)


def _runner(args, spec=None):
    """Spec, weights, then the model: every check that needs no TensorFlow runs first, so
    bad input fails fast with one line."""
    from .cli import load_spec
    from .weights import resolve_weights

    spec = spec or load_spec(args)
    weights = resolve_weights(args.weights, seed=args.seed, spec=spec)
    from .inference import Runner  # imports TensorFlow

    return Runner(spec, weights)


def cmd_predict(args) -> int:
    if args.top < 1:
        raise SpecError(f"--top must be at least 1, got {args.top}")
    rgb = _image(args.image)
    runner = _runner(args)
    preds = runner.predict(rgb, min(args.top, runner.spec.classes))
    notes = runner.notes
    if args.format == "json":
        for note in notes:
            sys.stderr.write(f"note: {note}\n")
        doc = {"predictions": [{"index": p.index, "label": p.label, "prob": p.prob} for p in preds],
               "notes": list(notes)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    lines = [f"weights: {runner.weights.label}", f"preprocessing: {runner.preprocessing.description}"]
    for note in notes:
        lines.append(f"note: {note}")
    lines.append("")
    lines.append(f"{'rank':>4}  {'index':>5}  {'prob':>9}  label")
    for i, p in enumerate(preds, 1):
        lines.append(f"{i:>4}  {p.index:>5}  {p.prob * 100:8.4f}%  {p.label}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def cmd_activations(args) -> int:
    from .images import encode_png, overlay_heatmap, resize_to_input

    from .cli import load_spec

    spec = load_spec(args)
    if args.block not in ("stem", *spec.block_names):
        raise SpecError(f"no block named {args.block!r}; choose stem or one of: {', '.join(spec.block_names)}")
    if args.scale < 1 or args.scale > 16:
        raise SpecError(f"--scale must be between 1 and 16, got {args.scale}")
    if args.gradcam and args.block == "stem":
        raise SpecError("--gradcam needs a block, not stem")
    rgb = _image(args.image)
    runner = _runner(args, spec)
    from .inference import block_mosaics

    values = runner.activations(rgb)
    mosaics = block_mosaics(values, runner.report, args.block, sort=args.sort, scale=args.scale)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for key, m in mosaics.items():
        path = out / f"{args.block}_{key}.png"
        path.write_bytes(encode_png(m.image))
        sys.stdout.write(
            f"{path}  {len(m.order)} channels, {m.grid[0]}x{m.grid[1]} tiles of {m.tile[0]}x{m.tile[1]} px, "
            f"colour scale {m.vmin:.4g} .. {m.vmax:.4g}\n"
        )
    if args.gradcam:
        g = runner.gradcam(rgb, args.block)
        h, w = runner.spec.input_shape[:2]
        shown = resize_to_input(rgb, (h, w), runner.preprocessing.resize)
        path = out / f"{args.block}_gradcam.png"
        path.write_bytes(encode_png(overlay_heatmap(shown, g.heatmap)))
        sys.stdout.write(f"{path}  Grad-CAM for class {g.class_index} ({g.label}, p = {g.prob:.4f})\n")
    for note in runner.notes:
        sys.stderr.write(f"note: {note}\n")
    return 0


def cmd_weights(args) -> int:
    from . import weights as W

    if args.action == "where":
        p = W.cached_zoo_path()
        sys.stdout.write(f"cache folder: {W.cache_dir()} (set INCEPTION_VIZ_CACHE to change)\n")
        sys.stdout.write(f"{W.ZOO_FILENAME}: {'present, SHA-256 verified' if p else 'not present'}\n")
        return 0
    if args.action == "install":
        if not args.file:
            raise SpecError("weights install needs FILE (a copy of googlenet-12.onnx)")
        try:
            dest = W.install_zoo_file(args.file)
        except SpecError as exc:  # the lecturer's own terminal: name the path they gave
            raise SpecError(f"{args.file}: {exc}") from None
    else:
        last = [0]

        def progress(done, total):
            pct = done * 100 // max(total, 1)
            if pct >= last[0] + 10:
                last[0] = pct
                sys.stderr.write(f"  {pct}% of {total:,} bytes\n")

        sys.stderr.write(f"downloading {W.ZOO_URL}\n")
        dest = W.download_zoo(progress=progress)
    sys.stdout.write(f"{dest}: SHA-256 {W.ZOO_SHA256} verified\n")
    return 0


def cmd_rf(args) -> int:
    from .cli import load_spec
    from .images import encode_png

    spec = load_spec(args)
    if args.block not in spec.block_names:
        raise SpecError(f"no block named {args.block!r}; choose one of: {', '.join(spec.block_names)}")
    if not args.out.lower().endswith(".png"):
        raise SpecError(f"--out must name a .png file, got {args.out!r}")
    if args.square is not None and args.square < 1:
        raise SpecError(f"--square must be at least 1 pixel, got {args.square}")
    samples = args.image == "samples" and not Path(args.image).exists()
    images = None if samples else [_image(args.image)]
    runner = _runner(args, spec)
    from .receptive import effective_field, field_image, field_json, sample_images, unit_layer

    unit_layer(runner, args.block, args.branch)  # a dropped branch fails before any work
    if samples:
        images = sample_images()
    ef = effective_field(runner, images, args.block, args.branch, tuple(args.unit) if args.unit else None)
    h, w = runner.spec.input_shape[:2]
    shown = None  # averaged over the samples: the heat map alone
    if not samples:
        from .images import resize_to_input

        shown = resize_to_input(images[0], (h, w), runner.preprocessing.resize)
    out = Path(args.out)
    out.write_bytes(encode_png(field_image(ef, shown)))
    doc = field_json(ef, args.square)
    doc["weights"] = runner.weights.label
    doc["out"] = str(out)
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    t, e, f = doc["theoretical"], doc["effective"], ef.field
    box = "none (only padding)" if ef.box is None else f"rows {ef.box.top}..{ef.box.bottom}, columns {ef.box.left}..{ef.box.right}"
    mass = "no gradient reached the input" if e["radius_50"] is None else (
        f"50 % of the gradient within {e['radius_50']:g} px of the centre ({2 * e['radius_50'] + 1:g} px square), "
        f"90 % within {e['radius_90']:g} px ({2 * e['radius_90'] + 1:g} px square)")
    lines = [
        f"{ef.layer}: unit ({ef.unit[0]}, {ef.unit[1]}) of its {ef.map_shape[0]}x{ef.map_shape[1]} map, "
        f"{ef.images} image{'s' if ef.images > 1 else ''}, weights: {runner.weights.label}",
        f"theoretical field: {f.label} px (jump {f.jump[0]}x{f.jump[1]} px), centred at ({t['centre'][0]}, {t['centre'][1]}), "
        f"clipped to {box}",
        f"effective field: {mass}; {e['share_inside_theoretical']:.1%} inside the theoretical field, "
        f"{e['share_inside_square']:.1%} inside the central {e['square']} px square",
        f"{out}  heat map (scaled to its maximum) with the theoretical field outlined",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def register(subparsers) -> None:
    """Add ``predict``, ``activations`` and ``weights`` to the CLI's subparsers."""
    p = subparsers.add_parser("predict", help="top-k ImageNet classes for an image")
    _common(p)
    p.add_argument("--top", type=int, default=5, metavar="K", help="how many classes (default 5)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_predict)

    p = subparsers.add_parser("activations", help="PNG mosaics of a block's branch outputs for an image")
    _common(p)
    p.add_argument("--block", required=True, metavar="NAME", help="inception_3a ... inception_5b, or stem")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG files (created)")
    p.add_argument("--sort", choices=("index", "mean"), default="index", help="channel order in the mosaic")
    p.add_argument("--scale", type=int, default=1, help="enlarge every activation to NxN pixels (1-16)")
    p.add_argument("--gradcam", action="store_true", help="also write a Grad-CAM overlay for the top class")
    p.set_defaults(func=cmd_activations)

    p = subparsers.add_parser("rf", help="theoretical and effective receptive field of a block's centre unit "
                                         "(IMAGE = samples: averaged over the four sample photos)")
    _common(p)
    p.add_argument("--block", required=True, metavar="NAME", help="inception_3a ... inception_5b")
    p.add_argument("--branch", choices=("concat", "1x1", "3x3", "5x5", "pool_proj"), default="concat",
                   help="the unit's branch (default: the block's concat)")
    p.add_argument("--unit", type=int, nargs=2, metavar=("ROW", "COL"),
                   help="the unit in the map (default: the one whose field is centred nearest the image centre)")
    p.add_argument("--square", type=int, metavar="PX", help="side of the central square for the mass share (default: the theoretical size)")
    p.add_argument("--out", required=True, metavar="FILE.png", help="PNG: the gradient heat map with the theoretical field")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_rf)

    p = subparsers.add_parser("weights", help="get the ImageNet weights (ONNX Model Zoo GoogLeNet) into the cache")
    p.add_argument("action", choices=("download", "install", "where"))
    p.add_argument("file", nargs="?", metavar="FILE", help="for install: a copy of googlenet-12.onnx")
    p.set_defaults(func=cmd_weights)
