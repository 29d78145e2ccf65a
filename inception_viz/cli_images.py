"""CLI commands on images: ``predict``, ``activations`` and ``weights``.

``python -m inception_viz predict IMAGE [--weights random|imagenet|FILE] [--top K] [--format text|json]``
  JSON (a contract): ``{"predictions": [{"index": int, "label": str, "prob": float}, ...]}``,
  highest probability first. Notes (random weights, re-initialised layers) go to stderr in
  JSON mode so stdout stays pure JSON.
``python -m inception_viz activations IMAGE --block NAME --out DIR [--sort index|mean] [--gradcam]``
  writes one PNG mosaic per branch and one for the concat (``--block stem``: one per stem
  layer), named ``<block>_<branch>.png``, and prints each path with its colour scale.
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


def _common(p: argparse.ArgumentParser) -> None:
    from .cli import _add_model_args

    p.add_argument("image", metavar="IMAGE", help="image file, or a bundled sample: cat, coffee, astronaut, rocket")
    _add_model_args(p)
    p.add_argument("--weights", default="random", metavar="SOURCE",
                   help="random (default), imagenet (the cached ONNX Model Zoo file), or a .onnx/.keras/.weights.h5 file")
    p.add_argument("--seed", type=int, default=0, help="seed of the random initialisation (default 0)")


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
    note = runner.note
    if args.format == "json":
        if note:
            sys.stderr.write(f"note: {note}\n")
        doc = {"predictions": [{"index": p.index, "label": p.label, "prob": p.prob} for p in preds]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    lines = [f"weights: {runner.weights.label}", f"preprocessing: {runner.preprocessing.description}"]
    if note:
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
    if runner.note:
        sys.stderr.write(f"note: {runner.note}\n")
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

    p = subparsers.add_parser("weights", help="get the ImageNet weights (ONNX Model Zoo GoogLeNet) into the cache")
    p.add_argument("action", choices=("download", "install", "where"))
    p.add_argument("file", nargs="?", metavar="FILE", help="for install: a copy of googlenet-12.onnx")
    p.set_defaults(func=cmd_weights)
