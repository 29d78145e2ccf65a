"""Command line: ``python -m inception_viz COMMAND``.

Commands
  table   the per-layer table with per-branch rows (text, json or csv)
  paper   the paper's Table 1 beside the computed values of the googlenet preset
  (more commands register themselves from other modules: see ``COMMAND_MODULES``)

Bad input prints one line on stderr and exits with status 2, never a traceback.
The output formats are contracts (lecturers' scripts parse them); see README "CLI".
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import sys

from . import tfenv
from .counter import Report, analyze, fmt_int
from .spec import BRANCH_KEYS, ModelSpec, SpecError

#: Modules that add subcommands with a ``register(subparsers)`` function. Their commands
#: import TensorFlow only when run, so ``table`` and ``paper`` stay fast.
COMMAND_MODULES = ("inception_viz.cli_images", "inception_viz.cli_exports", "inception_viz.cli_featurevis", "inception_viz.bench")

EXIT_BAD_INPUT = 2

VERBOSE_HELP = f"show TensorFlow's start-up and log lines (also: {tfenv.VERBOSE_ENV}=1)"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


def load_spec(args) -> ModelSpec:
    """The spec named by ``--preset`` or ``--config`` (a JSON file, ``-`` for stdin)."""
    from .config import MAX_CONFIG_BYTES, load_config_file, loads_config, read_bounded
    from .presets import preset

    if getattr(args, "config", None):
        if args.config == "-":  # bytes: the limit counts bytes, and a BOM is handled as for files
            stream = getattr(sys.stdin, "buffer", sys.stdin)
            return loads_config(read_bounded(stream, MAX_CONFIG_BYTES, "config on stdin"))
        return load_config_file(args.config)
    return preset(args.preset or "googlenet")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", help="googlenet (default), simplified, block or naive")
    g.add_argument("--config", metavar="FILE", help="a config JSON file (- reads stdin)")


def _shape(s) -> str:
    return "x".join(str(v) for v in s)


# ---------------------------------------------------------------------------------------
# table


def _rf_json(field) -> dict | None:
    return None if field is None else field.to_json()


def _rf_label(field) -> str:
    return "" if field is None else field.label


def table_json(report: Report) -> dict:
    """The ``table --format json`` document (a contract: see README). Every row, every
    entry of a block's ``layers`` and every branch has ``receptive_field``
    (``{"size": [h, w], "jump": [h, w], "start": [h, w]}``; ``null`` for a dropped branch)."""
    spec = report.spec
    rows = []
    for r in report.rows:
        row = {
            "name": r.name,
            "kind": r.kind,
            "output_shape": list(r.output_shape),
            "params": r.params,
            "weights": r.weights,
            "macs": r.macs,
            "activations": r.activations,
            "depth": r.depth,
            "detail": r.detail,
            "receptive_field": _rf_json(r.receptive_field),
        }
        if r.aux:
            row["aux"] = True
        if r.branches is not None:
            row["widths"] = spec.block(r.name).widths
            row["branches"] = {
                k: {"params": b.params, "weights": b.weights, "macs": b.macs, "channels": b.channels,
                    "receptive_field": _rf_json(b.receptive_field)}
                for k, b in r.branches.items()
            }
        if r.parts:
            row["layers"] = [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "output_shape": list(p.output_shape),
                    "params": p.params,
                    "weights": p.weights,
                    "macs": p.macs,
                    "receptive_field": _rf_json(p.receptive_field),
                }
                for p in r.parts
            ]
        rows.append(row)
    return {
        "model": spec.name,
        "preset": spec.preset,
        "input_shape": list(spec.input_shape),
        "classes": spec.classes,
        "lrn": spec.lrn,
        "aux": spec.aux,
        "output_shape": list(report.output_shape),
        "depth": report.depth,
        "total_params": report.total_params,
        "total_weights": report.total_weights,
        "total_macs": report.total_macs,
        "total_activations": report.total_activations,
        "units": {
            "receptive_field": "input pixels per axis [H, W]: size of one unit's field, jump between units, start = centre of the top-left unit's field",
            "params": "weights + biases",
            "macs": "multiply-adds, one per weight per output position",
            "activations": "values output (H*W*C)",
        },
        "rows": rows,
    }


CSV_COLUMNS = ("name", "kind", "branch", "output_shape", "params", "weights", "macs", "channels", "rf")


def table_csv(report: Report) -> str:
    """One row per layer and one per branch of each block (``branch`` column set)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in report.rows:
        w.writerow((r.name, r.kind, "", _shape(r.output_shape), r.params, r.weights, r.macs, r.output_shape[2],
                    _rf_label(r.receptive_field)))
        for k, b in (r.branches or {}).items():
            w.writerow((r.name, "branch", k, _shape((*r.output_shape[:2], b.channels)), b.params, b.weights, b.macs,
                        b.channels, _rf_label(b.receptive_field)))
    return buf.getvalue()


def table_text(report: Report) -> str:
    spec = report.spec
    head = ("layer", "kind", "detail", "output", "params", "MACs", "rf")
    lines = []
    for r in report.rows:
        lines.append((r.name, r.kind, r.detail, _shape(r.output_shape), fmt_int(r.params), fmt_int(r.macs),
                      _rf_label(r.receptive_field)))
        for i, k in enumerate(BRANCH_KEYS if r.branches else ()):
            b = r.branches[k]
            tree = "└─" if i == len(BRANCH_KEYS) - 1 else "├─"
            what = "dropped" if b.dropped else " + ".join(p.name.removeprefix(r.name + "_") for p in b.parts)
            lines.append((f"  {tree} {k}", "branch", what, f"{b.channels} maps", fmt_int(b.params), fmt_int(b.macs),
                          _rf_label(b.receptive_field) or "-"))
    widths = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    right = {4, 5, 6}

    def fmt(row):
        return "  ".join(str(v).rjust(widths[i]) if i in right else str(v).ljust(widths[i]) for i, v in enumerate(row)).rstrip()

    out = [
        f"{spec.name}: input {_shape(spec.input_shape)}, output {_shape(report.output_shape)}, depth {report.depth}",
        fmt(head),
        "  ".join("-" * w for w in widths),
        *(fmt(line) for line in lines),
        "  ".join("-" * w for w in widths),
        f"total: {fmt_int(report.total_params)} params ({fmt_int(report.total_weights)} weights + "
        f"{fmt_int(report.total_params - report.total_weights)} biases), "
        f"{fmt_int(report.total_macs)} MACs (multiply-adds)",
        "rf: receptive field of one output unit, input pixels (HxW when not square)",
    ]
    return "\n".join(out) + "\n"


def cmd_table(args) -> int:
    report = analyze(load_spec(args))
    if args.format == "json":
        sys.stdout.write(json.dumps(table_json(report), indent=2) + "\n")
    elif args.format == "csv":
        sys.stdout.write(table_csv(report))
    else:
        sys.stdout.write(table_text(report))
    return 0


# ---------------------------------------------------------------------------------------
# paper


def _pct(d) -> str:
    return "" if d is None else f"{d:+.1%}"


def _num(v, fmt="{:,.1f}") -> str:
    return "" if v is None else fmt.format(v)


def paper_json(comparisons) -> dict:
    return {
        "units": {"params": "K = 1024 weights, biases excluded (the paper's unit)", "ops": "millions of multiply-adds"},
        "rows": [
            {
                "row": c.paper.label,
                "layers": list(c.paper.layers),
                "paper": {
                    "output_shape": list(c.paper.output),
                    "depth": c.paper.depth,
                    "params_k": c.paper.params_k,
                    "ops_m": c.paper.ops_m,
                },
                "computed": {
                    "output_shape": list(c.output) if c.output else None,
                    "depth": c.depth,
                    "weights": c.weights,
                    "params_k": c.params_k,
                    "macs": c.macs,
                    "ops_m": c.ops_m,
                },
                "params_delta": c.params_delta,
                "ops_delta": c.ops_delta,
                "status": c.status,
                "note": c.note,
            }
            for c in comparisons
        ],
    }


def paper_text(comparisons) -> str:
    head = ("Table 1 row", "output", "params K paper", "ours", "delta", "ops M paper", "ours", "delta", "status")
    lines = []
    for c in comparisons:
        lines.append(
            (
                c.paper.label,
                _shape(c.output) if c.output else "-",
                _num(c.paper.params_k), _num(c.params_k if c.paper.params_k is not None else None), _pct(c.params_delta),
                _num(c.paper.ops_m), _num(c.ops_m if c.paper.ops_m is not None else None), _pct(c.ops_delta),
                c.status,
            )
        )
    widths = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    right = {2, 3, 4, 5, 6, 7}

    def fmt(row):
        return "  ".join(str(v).rjust(widths[i]) if i in right else str(v).ljust(widths[i]) for i, v in enumerate(row)).rstrip()

    out = [
        "GoogLeNet: the paper's Table 1 beside the computed values",
        "params in the paper's unit: K = 1024 weights (biases excluded); ops in millions of multiply-adds",
        fmt(head),
        "  ".join("-" * w for w in widths),
        *(fmt(line) for line in lines),
        "",
    ]
    flagged = [c for c in comparisons if c.note]
    for c in flagged:
        out.append(f"{c.paper.label} ({c.status}): {c.note}")
    return "\n".join(out) + "\n"


def cmd_paper(args) -> int:
    from .paper import compare

    comparisons = compare(analyze(load_spec(args)))
    if args.format == "json":
        sys.stdout.write(json.dumps(paper_json(comparisons), indent=2) + "\n")
    else:
        sys.stdout.write(paper_text(comparisons))
    return 0


# ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m inception_viz", description="Inception Explorer: exact numbers for Inception V1.")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("table", help="per-layer table with per-branch rows")
    _add_model_args(p)
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("paper", help="the paper's Table 1 beside the computed values")
    _add_model_args(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_paper)

    for module in COMMAND_MODULES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(sub)
    for p in sub.choices.values():  # also after the command: predict --verbose ...
        p.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        tfenv.set_verbose()
    try:
        return args.func(args) or 0
    except SpecError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT
    except (OSError, ValueError) as exc:
        if isinstance(exc, BrokenPipeError):
            return 0
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
