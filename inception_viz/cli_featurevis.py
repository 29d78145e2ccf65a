"""CLI command ``visualize``: feature visualisation of one target into a PNG.

``python -m inception_viz visualize --target LAYER:CHANNEL [--weights random|imagenet|FILE]
[--preset NAME | --config FILE] [--objective channel|neuron|branch|layer|class] [--steps N]
[--size PX] [--seed S] --out FILE.png [--format text|json]``

LAYER is any layer ``table`` lists (a block's name is its concat, ``inception_4c_3x3`` that
branch's conv, ``linear`` with a class index is that class's logit); ``BLOCK:KEY`` with a
branch key (``inception_4c:3x3``) is the branch objective. The PNG is size x size 8-bit RGB,
exactly the network's input with the weights' preprocessing.

JSON (a contract): ``{"target", "layer", "channel", "objective", "steps", "size", "seed",
"objective_start", "objective_end", "seconds", "out"}``; notes (random weights) go to
stderr. Bad layer, channel or setting: one line naming the valid range, exit 2. The target
is checked before TensorFlow is imported.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .spec import SpecError

#: Said beside every visualisation of random weights.
RANDOM_FEATUREVIS_NOTE = (
    "these weights are random: an untrained network has no features, so this picture shows "
    "the method at work, not what a trained network has learned"
)


def cmd_visualize(args) -> int:
    from . import featurevis as fv
    from .cli import load_spec
    from .weights import resolve_weights

    spec = load_spec(args)
    target = fv.parse_target(spec, args.target, args.objective)
    settings = fv.check_request(spec, target, fv.Settings(steps=args.steps, size=args.size, seed=args.seed))
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise SpecError(f"--out must name a .png file; got {args.out}")
    weights = resolve_weights(args.weights, seed=0, spec=spec)
    from .inference import Runner  # imports TensorFlow

    runner = Runner(spec, weights)
    frame = fv.visualize(runner, target, settings, every=max(1, settings.steps // 8),
                         on_frame=None if args.format == "json" else _progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(frame.png(0))
    note = RANDOM_FEATUREVIS_NOTE if not weights.trained else runner.note
    if args.format == "json":
        if note:
            sys.stderr.write(f"note: {note}\n")
        doc = {
            "target": args.target,
            "layer": target.layer,
            "channel": target.channel,
            "objective": target.objective,
            "steps": frame.step,
            "size": settings.size,
            "seed": settings.seed,
            "objective_start": frame.objective_start[0],
            "objective_end": frame.objective_end[0],
            "seconds": round(frame.seconds, 3),
            "out": str(out),
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    lines = [
        f"{out}: {settings.size}x{settings.size} RGB PNG",
        f"target: {target.label}, {target.objective} objective",
        f"weights: {weights.label}; preprocessing: {weights.preprocessing.name}",
        f"objective: {frame.objective_start[0]:.6g} -> {frame.objective_end[0]:.6g} after {frame.step} steps "
        f"(seed {settings.seed}), {frame.seconds:.1f} s",
    ]
    if note:
        lines.append(f"note: {note}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _progress(frame) -> None:
    if not frame.done:
        sys.stderr.write(f"  step {frame.step}/{frame.steps}: objective {frame.objective[0]:.4g} ({frame.seconds:.1f} s)\n")


def register(subparsers) -> None:
    """Add ``visualize`` to the CLI's subparsers."""
    from .cli import _add_model_args

    p = subparsers.add_parser(
        "visualize", help="feature visualisation: the image a channel, branch, layer or class responds to most",
        description="Gradient ascent in a decorrelated Fourier basis with transformation robustness "
        "(Olah, Mordvintsev & Schubert, Distill 2017); writes one PNG.")
    p.add_argument("--target", required=True, metavar="LAYER:CHANNEL",
                   help="a layer `table` lists and a channel, e.g. inception_4c:97, inception_4c_3x3:5, "
                        "linear:281 (a class), inception_4c:3x3 (a branch); LAYER alone for --objective layer")
    _add_model_args(p)
    p.add_argument("--weights", default="random", metavar="SOURCE",
                   help="random (default), imagenet (the cached ONNX Model Zoo file), or a .onnx/.keras/.weights.h5 file")
    p.add_argument("--objective", choices=("channel", "neuron", "branch", "layer", "class"), default=None,
                   help="channel (default; class for the classifier layer): mean of the channel; neuron: its centre "
                        "unit; branch: a block's branch, mean of squares; layer: mean of squares (DeepDream); "
                        "class: the pre-softmax logit")
    p.add_argument("--steps", type=int, default=256, help="Adam steps (default 256)")
    p.add_argument("--size", type=int, default=None, metavar="PX", help="image side in pixels (default: the model's input side)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial image and the random transforms (default 0)")
    p.add_argument("--out", required=True, metavar="FILE.png", help="the PNG to write")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_visualize)
