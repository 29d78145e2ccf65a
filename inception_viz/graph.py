"""Graphviz DOT source for a model: an overview and the detail of one Inception block.

Pure functions: they read a :class:`~inception_viz.counter.Report` and return DOT text
(built with the ``graphviz`` package, which quotes identifiers). Every label is escaped
(HTML-like labels with :func:`html.escape`), so names never break the DOT syntax.

Every word and number goes through an optional ``tr`` (:class:`inception_viz.i18n.Translator`,
default English, whose output is the historical one byte for byte): ``tr=translator("es")``
gives "163,70 K parámetros". Layer names stay as they are in every language.

Readable on a projector: large fonts, and the overview puts the stem, each stage of
blocks and the head on their own row. The four branches keep the colours of
:data:`BRANCH_COLORS` here and in every Plotly figure (:mod:`inception_viz.figures`).
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping

import graphviz

from .counter import Report, Row
from .i18n import N_, Translator, resolve
from .spec import BRANCH_KEYS

#: One colour per branch (Okabe-Ito, colour-blind safe), shared by graphs and charts.
BRANCH_COLORS: dict[str, str] = {
    "1x1": "#0072B2",  # blue
    "3x3": "#E69F00",  # orange
    "5x5": "#009E73",  # green
    "pool_proj": "#CC79A7",  # purple-pink
}
#: Human labels of the branches (English msgids: :func:`branch_label` translates).
BRANCH_LABELS: dict[str, str] = {
    "1x1": N_("1x1 conv"),
    "3x3": N_("3x3 conv"),
    "5x5": N_("5x5 conv"),
    "pool_proj": N_("3x3 max pool + proj"),
}
#: Lighter fills for the branch nodes in the block detail.
BRANCH_FILLS: dict[str, str] = {
    "1x1": "#CCE3F0",
    "3x3": "#FAE7BF",
    "5x5": "#BFE7DC",
    "pool_proj": "#F2DDE9",
}

FONT = "Helvetica"
FONT_SIZE = "18"
EDGE_FONT_SIZE = "15"
TITLE_FONT_SIZE = "22"
#: Every font size the DOT uses (a viewer that restyles SVG text can restore them).
FONT_SIZES = (TITLE_FONT_SIZE, FONT_SIZE, EDGE_FONT_SIZE)


def branch_label(key: str, tr: Translator | None = None) -> str:
    """The human label of branch ``key`` in ``tr``'s language."""
    return resolve(tr).gettext(BRANCH_LABELS[key])


def shape_str(shape) -> str:
    """``(28, 28, 256)`` -> ``28x28x256``."""
    return "x".join(str(v) for v in shape)


#: ASCII control characters XML (and so Graphviz's HTML-like labels) cannot carry, shown
#: as ``\\xNN`` text instead. Tab, newline and carriage return are allowed.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0, 9), 11, 12, *range(14, 32))}


#: In HTML-like labels tab, newline and carriage return are shown as text too (a name is
#: one line), and ']' is written as an entity: Graphviz's HTML-label lexer rejects a bare
#: ']' and whitespace-only or empty formatted text (``<B></B>``).
_HTML_CONTROL = {**_CONTROL, 9: "\\x09", 10: "\\x0a", 13: "\\x0d"}


def _e(text) -> str:
    """Escape text for an HTML-like Graphviz label."""
    escaped = html.escape(str(text).translate(_HTML_CONTROL), quote=True).replace("]", "&#93;")
    return escaped if escaped.strip() else "&#160;"


def _plain(text: str) -> str:
    """A plain (non-HTML) label taken literally: ``graphviz.escape`` doubles backslashes,
    so a ``\\n`` in a name cannot become a line break; quotes are escaped when quoting.
    Real newlines in ``text`` are line breaks."""
    return graphviz.escape(str(text).translate(_CONTROL))


def _graph(name: str, rankdir: str) -> graphviz.Digraph:
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    g = graphviz.Digraph(name=name)
    g.attr(rankdir=rankdir, fontname=FONT, fontsize=FONT_SIZE, nodesep="0.35", ranksep="0.45", bgcolor="white")
    g.attr("node", fontname=FONT, fontsize=FONT_SIZE, shape="box", style="rounded,filled", fillcolor="#F4F4F4", color="#555555", penwidth="1.4")
    g.attr("edge", fontname=FONT, fontsize=EDGE_FONT_SIZE, color="#555555", fontcolor="#333333", penwidth="1.4")
    return g


def _node_id(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() or c == "_" else "_" for c in name)


#: How the overview marks which layers carry loaded (pretrained) weights after edits:
#: status -> (text (a msgid), border colour, border style).
WEIGHT_STATUS_STYLE = {
    "pretrained": (N_("pretrained"), "#009E73", "rounded,filled"),
    "partly pretrained": (N_("partly pretrained"), "#E69F00", "rounded,filled,dashed"),
    "fresh": (N_("fresh init"), "#D55E00", "rounded,filled,dashed"),
}


#: The words for the same statuses when the loaded weights are not trained (a ``.keras``
#: saved from random weights): nothing about them is "pretrained".
UNTRAINED_STATUS_TEXT = {"pretrained": N_("loaded"), "partly pretrained": N_("partly loaded"), "fresh": N_("fresh init")}


def status_text(status: str, trained: bool = True, tr: Translator | None = None) -> str:
    """The words a label or legend uses for a weight status (see :data:`WEIGHT_STATUS_STYLE`)."""
    text = WEIGHT_STATUS_STYLE[status][0] if trained else UNTRAINED_STATUS_TEXT[status]
    return resolve(tr).gettext(text)


def _status_text(status: str | None, tr: Translator, trained: bool = True) -> str:
    if status not in WEIGHT_STATUS_STYLE:
        return ""
    _, color, _ = WEIGHT_STATUS_STYLE[status]
    return f'<FONT COLOR="{color}"><B>{_e(status_text(status, trained, tr))}</B></FONT>'


def _detail(row: Row) -> str:
    """A row's detail as a label shows it: one arrow, "→", in every label."""
    return row.detail.replace(" -> ", " → ")


def field_text(field, tr: Translator | None = None) -> str:
    """``field 59 px`` (``field 59x43 px`` when not square): a receptive field in labels."""
    return resolve(tr).gettext("field {size} px").format(size=field.label)


def _block_label(row: Row, highlight: bool, status: str | None, tr: Translator, trained: bool = True) -> str:
    """An HTML table: the block name, its output, parameters and receptive field, and a
    colour strip with the channels each branch contributes (and, with weights loaded,
    whether they are pretrained)."""
    cells = []
    for key in BRANCH_KEYS:
        br = row.branches[key]
        color = BRANCH_COLORS[key] if br.channels else "#DDDDDD"
        cells.append(f'<TD BGCOLOR="{color}"><FONT COLOR="white"><B>{_e(br.channels)}</B></FONT></TD>')
    title = f"<B>{_e(row.name)}</B>" + (" ✎" if highlight else "")
    params = tr.gettext("{params} params").format(params=tr.k(row.params))  # (not inside an f-string: extraction)
    return (
        '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="4">'
        f'<TR><TD COLSPAN="4">{title}</TD></TR>'
        f'<TR><TD COLSPAN="4">{_e(shape_str(row.output_shape))}</TD></TR>'
        f'<TR><TD COLSPAN="4">{_e(params)}</TD></TR>'
        f'<TR><TD COLSPAN="4">{_e(field_text(row.receptive_field, tr))}</TD></TR>'
        + (f'<TR><TD COLSPAN="4">{_status_text(status, tr, trained)}</TD></TR>' if _status_text(status, tr) else "")
        + f"<TR>{''.join(cells)}</TR>"
        "</TABLE>>"
    )


def _group_label(title: str, rows: list[Row], status: Mapping[str, str] | None, tr: Translator, trained: bool = True) -> str:
    """A stem or head: one line per layer (name, detail, output, params) and, with weights
    loaded, the layer's weight status in a column of its own (a status appended to the
    line drifted away from it in the browser: "· … pretrained")."""
    marks = {r.name: _status_text((status or {}).get(r.name), tr, trained) for r in rows}
    cols = 2 if any(marks.values()) else 1
    lines = [(f"<B>{_e(title)}</B>", None)]
    for r in rows:
        extra = f" · {_e(tr.k(r.params))}" if r.params else ""
        detail = f" {_e(_detail(r))}" if r.detail and r.kind != "dropout" else ""
        lines.append((f"{_e(r.name)}{detail} → {_e(shape_str(r.output_shape))}{extra}", marks[r.name]))

    def row_html(line: str, mark: str | None) -> str:
        if cols == 1:
            return f'<TR><TD ALIGN="LEFT">{line}</TD></TR>'
        if mark is None:  # the title spans both columns
            return f'<TR><TD ALIGN="LEFT" COLSPAN="2">{line}</TD></TR>'
        return f'<TR><TD ALIGN="LEFT">{line}</TD><TD ALIGN="LEFT">{mark}</TD></TR>'

    body = "".join(row_html(line, mark) for line, mark in lines)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">{body}</TABLE>>'


def _segments(report: Report) -> list[tuple[str, list[Row]]]:
    """Split the top-level rows into ``stem`` (before the first block), one ``stage`` per
    run of blocks (with the layers up to the next block) and ``head`` (after the last
    block). Auxiliary heads are left out (drawn apart)."""
    rows = [r for r in report.rows if not r.aux]
    idx = [i for i, r in enumerate(rows) if r.kind == "inception"]
    if not idx:
        return [("stem", rows)]
    first, last = idx[0], idx[-1]
    segs: list[tuple[str, list[Row]]] = []
    if first:
        segs.append(("stem", rows[:first]))
    stage: list[Row] = []
    for r in rows[first : last + 1]:
        if r.kind == "inception" and stage and stage[-1].kind != "inception":
            segs.append(("stage", stage))
            stage = []
        stage.append(r)
    segs.append(("stage", stage))
    if last + 1 < len(rows):
        segs.append(("head", rows[last + 1 :]))
    return segs


def overview_dot(
    report: Report,
    rankdir: str = "TB",
    edited: set[str] | frozenset = frozenset(),
    wrap: int = 4,
    status: Mapping[str, str] | None = None,
    tr: Translator | None = None,
    trained: bool = True,
) -> str:
    """The whole network: input → stem → blocks → head, wrapped like text so it fits a
    projector: the stem, each stage of blocks (with the pool after it) and the head each
    take one row; the edge that ends a row comes back to the start of the next one.

    Each block node shows its output shape, its parameters, its receptive field (input
    pixels one output unit sees, :func:`field_text`) and, in the branch colours, the
    channels each branch adds to the concat. Edges carry the tensor shape. ``edited``
    names blocks to mark with ✎ (they differ from the preset). ``status`` maps layer names
    to ``pretrained`` / ``partly pretrained`` / ``fresh`` (see
    ``weights.TransferReport.layer_status``): those layers say so and get a border of
    :data:`WEIGHT_STATUS_STYLE`, in the words of :func:`status_text` (``trained=False``:
    "loaded", never "pretrained"). ``tr``: the language of the words and numbers (English)."""
    tr = resolve(tr)
    spec = report.spec
    g = _graph("overview", rankdir)
    title = tr.gettext("{name}: {params} params, {macs} MACs").format(name=spec.name, params=tr.int(report.total_params), macs=tr.int(report.total_macs))
    g.attr(label=_plain(title), labelloc="t", fontsize=TITLE_FONT_SIZE, newrank="true")
    segment_titles = {"stem": tr.gettext("stem"), "head": tr.gettext("head")}

    # (node id, label, attributes, shape of the tensor it outputs), row by row
    rows: list[list[tuple[str, str, dict, tuple]]] = []
    for seg_i, (kind, seg) in enumerate(_segments(report)):
        if kind in ("stem", "head"):
            rows.append([(f"{kind}_{seg_i}", _group_label(segment_titles[kind], seg, status, tr, trained), {"fillcolor": "#EDEDED"}, seg[-1].output_shape)])
            continue
        row = []
        for r in seg:
            if r.kind == "inception":
                mark = r.name in edited
                attrs = {"fillcolor": "#FFFFFF", "penwidth": "2.5" if mark else "1.4", "color": "#D55E00" if mark else "#555555"}
                st = (status or {}).get(r.name)
                if st in WEIGHT_STATUS_STYLE:
                    _, color, style = WEIGHT_STATUS_STYLE[st]
                    attrs.update(color=color, style=style, penwidth="3")
                row.append((_node_id(r.name), _block_label(r, mark, st, tr, trained), attrs, r.output_shape))
            else:
                detail = f" {_detail(r)}" if r.detail else ""
                attrs = {"shape": "box", "style": "filled", "fillcolor": "#EDEDED", "fontsize": EDGE_FONT_SIZE}
                label = f"{r.name}{detail}\n→ {shape_str(r.output_shape)}"
                row.append((_node_id(r.name), _plain(label), attrs, r.output_shape))
        rows.extend(row[i : i + wrap] for i in range(0, len(row), wrap))
    io_attrs = {"shape": "box", "style": "filled", "fillcolor": "#FFFFFF"}
    rows[0].insert(0, ("input", _plain(_io("input", spec.input_shape, tr)), io_attrs, tuple(spec.input_shape)))
    rows[-1].append(("output", _plain(_io("output", report.output_shape, tr)), io_attrs, report.output_shape))
    if len(rows) > 1 and len(rows[0]) == 1:  # a lone input row: put it beside the stem
        rows[1:2] = [rows[0] + rows[1]]
        rows.pop(0)

    prev = None
    for i, row in enumerate(rows):
        with g.subgraph(name=f"row_{i}") as sub:
            sub.attr(rank="same")
            for nid, label, attrs, _ in row:
                sub.node(nid, label, **attrs)
        for j, (nid, _, _, _) in enumerate(row):
            if prev is not None:
                wraps = j == 0
                g.edge(prev[0], nid, **({"constraint": "false"} if wraps else {}))
            prev = row[j]
        if i:
            g.edge(rows[i - 1][0][0], row[0][0], style="invis", weight="10")
    for r in report.rows:
        if r.aux:
            head = next(a for a in spec.aux_heads if a.name == r.name)
            nid = _node_id(r.name)
            aux_title = tr.gettext("{name} (auxiliary, training only)").format(name=r.name)
            g.node(nid, _group_label(aux_title, list(r.parts), None, tr), fillcolor="#FFF8E0", style="rounded,filled,dashed")
            g.edge(_node_id(head.after), nid, style="dashed")
    return g.source


def _io(which: str, shape, tr: Translator) -> str:
    """The label of an input or output node: the word, then the shape."""
    word = tr.gettext("input") if which == "input" else tr.gettext("output")
    return f"{word}\n{shape_str(shape)}"


def block_dot(report: Report, name: str, rankdir: str = "TB", tr: Translator | None = None,
              edited: Collection[str] = ()) -> str:
    """One Inception block: its input, the four branches in their colours (each with its
    parameters and receptive field; each conv with its kernel and filters; each edge with
    the tensor shape it carries), the concat. ``tr``: the language of the words and numbers
    (English). ``edited`` names the widths (``3x3``, ``pool_proj``, …) that differ from the
    preset: their convs are marked ✎."""
    tr = resolve(tr)
    row = report.row(name)
    if row.kind != "inception":
        raise ValueError(f"{name} is not an Inception block. Received: name={name!r}")
    g = _graph("block", rankdir)
    g.attr(ordering="out", newrank="true")
    in_shape = shape_str(row.input_shape)
    title = tr.gettext("{name}: {input} → {output}, {params} params, {macs} MACs").format(
        name=name, input=in_shape, output=shape_str(row.output_shape), params=tr.int(row.params), macs=tr.int(row.macs)
    )
    g.attr(label=_plain(title), labelloc="t", fontsize=TITLE_FONT_SIZE)
    g.node("input", _plain(_io("input", row.input_shape, tr)), style="filled", fillcolor="#FFFFFF")
    concat = "concat"
    detail = " + ".join(str(row.branches[k].channels) for k in BRANCH_KEYS)
    concat_label = tr.gettext("concat {name}\n{widths} = {maps} maps").format(name=name, widths=detail, maps=row.output_shape[2])
    g.node(concat, _plain(concat_label), style="filled", fillcolor="#FFFFFF", penwidth="2")
    heads = []  # one header node per branch, in concat order
    for key in BRANCH_KEYS:
        br = row.branches[key]
        color, fill = BRANCH_COLORS[key], BRANCH_FILLS[key]
        head = f"branch_{key.replace('x', 'x_')}"
        heads.append(head)
        if br.dropped:
            dropped = tr.gettext("{branch} branch\ndropped (width 0)").format(branch=branch_label(key, tr))
            g.node(head, _plain(dropped), style="rounded,dashed", fillcolor="white", color=color, fontcolor="#777777")
            g.edge("input", head, style="dashed", color="#BBBBBB", arrowhead="none")
            continue
        head_label = tr.gettext("{branch} branch\n{params} params").format(branch=branch_label(key, tr), params=tr.int(br.params))
        head_label += "\n" + field_text(br.receptive_field, tr)
        g.node(head, _plain(head_label), style="rounded,filled,bold", fillcolor=color, color=color, fontcolor="white")
        g.edge("input", head, color=color)
        prev, prev_shape = head, row.input_shape
        for part in br.parts:
            nid = _node_id(part.name)
            if part.kind == "conv":
                kernel = part.detail.split("/")[0]
                if part.name.endswith("_reduce"):
                    text = tr.gettext("{kernel} reduce, {filters} filters\n{name}\n{params} params")
                elif part.name.endswith("_proj"):
                    text = tr.gettext("{kernel} proj, {filters} filters\n{name}\n{params} params")
                else:
                    text = tr.gettext("{kernel} conv, {filters} filters\n{name}\n{params} params")
                mark = " ✎" if part.name.removeprefix(f"{name}_") in edited else ""
                label = text.format(kernel=kernel, filters=part.output_shape[2], name=part.name, params=tr.int(part.params))
                if mark:
                    first, rest = label.split("\n", 1)
                    label = f"{first}{mark}\n{rest}"
            else:
                label = tr.gettext("3x3/1 max pool\n{name}").format(name=part.name)
            g.node(nid, _plain(label), fillcolor=fill, color=color)
            # the block input's shape is on the input node; later edges carry their tensor's shape
            g.edge(prev, nid, None if prev == head else _plain(shape_str(prev_shape)), color=color)
            prev, prev_shape = nid, part.output_shape
        note = "" if br.parts[-1].kind == "conv" else tr.gettext(" (unprojected)")
        g.edge(prev, concat, _plain(shape_str(prev_shape) + note), color=color, penwidth="2.5")
    # branches left to right in concat order (1x1, 3x3, 5x5, pool), whichever renderer draws it
    with g.subgraph(name="branch_heads") as sub:
        sub.attr(rank="same")
        for head in heads:
            sub.node(head)
    for a, b in zip(heads, heads[1:]):
        g.edge(a, b, style="invis")
    g.node("output", _plain(_io("output", row.output_shape, tr)), style="filled", fillcolor="#FFFFFF")
    g.edge(concat, "output")
    return g.source


__all__ = ["BRANCH_COLORS", "BRANCH_LABELS", "branch_label", "BRANCH_FILLS", "overview_dot", "block_dot", "shape_str", "field_text"]
