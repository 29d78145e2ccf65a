"""CLI command ``export``: every file the app offers for download, from the command line.

``python -m inception_viz export --format onnx|keras|weights|py|dot|svg|png|csv|json
[--preset NAME | --config FILE] [--weights random|imagenet|FILE] [--view overview|block:NAME]
[--layout TB|LR] [--wrap N] --out FILE``

The bytes come from :mod:`inception_viz.exports`, the functions the app's download buttons
call, so the file equals the app's download for the same model and settings. ``--weights``
(and ``--seed``) apply to the model formats (onnx, keras, weights), ``--view`` / ``--layout``
/ ``--wrap`` to the graph formats (dot, svg, png). ``--out -`` writes to stdout. On success
one line on stdout: ``FILE: N bytes (what)``. Bad input: one line on stderr, exit 2.
TensorFlow is imported only for the model formats, after every other check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .spec import SpecError


def cmd_export(args) -> int:
    from . import exports
    from .cli import load_spec

    fmt = exports.FORMATS[args.format]
    if args.weights is not None and not fmt.model:
        raise SpecError(f"--weights applies to the model formats (onnx, keras, weights), not {fmt.name}")
    graph_opts = args.view is not None or args.layout is not None or args.wrap is not None
    if graph_opts and not fmt.graph:
        raise SpecError(f"--view, --layout and --wrap apply to the graph formats (dot, svg, png), not {fmt.name}")
    if args.out != "-" and Path(args.out).is_dir():
        raise SpecError(f"--out {args.out} is a folder; give a file name such as {args.out.rstrip('/')}/model{fmt.suffix}")
    if args.out != "-" and not Path(args.out).parent.is_dir():
        raise SpecError(f"--out {args.out}: the folder {Path(args.out).parent} does not exist; create it first")
    spec = load_spec(args)
    view, layout, wrap = args.view or "overview", (args.layout or "TB").upper(), 4 if args.wrap is None else args.wrap
    weights = None
    if fmt.graph:
        exports.graph_source(spec, view, layout, wrap)  # validates view, layout and wrap before rendering
    if fmt.model:
        from .limits import check_buildable
        from .weights import resolve_weights

        check_buildable(spec)  # a model too large to build fails here, before TensorFlow loads
        weights = resolve_weights(args.weights, seed=args.seed, spec=spec)
    data = exports.export(fmt.name, spec, weights, view, layout, wrap)
    if args.out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    Path(args.out).write_bytes(data)
    sys.stdout.write(f"{args.out}: {len(data):,} bytes ({fmt.what})\n")
    return 0


def register(subparsers) -> None:
    """Add ``export`` to the CLI's subparsers."""
    from . import exports
    from .cli import _add_model_args
    from .cli_images import add_weights_args

    p = subparsers.add_parser("export", help="write any file the app offers (ONNX, .keras, code, graphs, table, config)")
    p.add_argument("--format", required=True, choices=tuple(exports.FORMATS),
                   help="; ".join(f"{f.name}: {f.what}" for f in exports.FORMATS.values()))
    _add_model_args(p)
    add_weights_args(p, default=None)
    p.add_argument("--view", metavar="VIEW", help=f"graph formats: {exports.VIEWS_HELP} (default overview)")
    p.add_argument("--layout", type=str.upper, choices=exports.RANKDIRS, help="graph formats: TB (default) or LR")
    p.add_argument("--wrap", type=int, metavar="N", help="graph formats: overview nodes per row, 2-8 (default 4)")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write (- for stdout)")
    p.set_defaults(func=cmd_export)
