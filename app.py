"""Inception Explorer: take Inception V1 (GoogLeNet) apart live in front of a class.

    streamlit run app.py

The app only wires widgets to pure functions (``inception_viz.*``). ``main()`` calls one
small function per UI section. The current spec lives in ``st.session_state["spec"]``
and in the URL (``st.query_params``); every widget starts from the spec, and widget keys
carry the preset and a generation number that changes whenever the spec changes, so a
preset switch, an upload or a restored URL never leaves a stale widget value behind.
An edit is accepted only if the analytic counter accepts the new spec; otherwise
``st.error`` says what is wrong and the last good model stays on screen.

Nothing on the first page imports TensorFlow; "Instantiate" loads it on demand.
"""

from __future__ import annotations

import gc
import os
import tempfile

import pandas as pd
import streamlit as st

from inception_viz import codegen, config, counter, figures, graph, paper, presets, render
from inception_viz.counter import fmt_int
from inception_viz.graph import BRANCH_COLORS, shape_str
from inception_viz.presets import PAPER_WIDTHS, PRESET_NAMES
from inception_viz.spec import BRANCH_KEYS, LRN, MAX_WIDTH, WIDTH_KEYS, Dense, SpecError

#: Built Keras models kept in memory at once (each GoogLeNet is ~28 MB of weights).
MODEL_CACHE_ENTRIES = 2
#: Uploads larger than this are refused (also capped by .streamlit/config.toml).
MAX_UPLOAD_BYTES = config.MAX_CONFIG_BYTES
TABS = (
    "Blocks",
    "Graph",
    "Charts",
    "Paper Table 1",
    "Seed comparison",
    "Compare",
    "Code",
    "Instantiate",
    "Predictions & feature maps",
)
NAIVE_KEYS = ("3x3_reduce", "5x5_reduce", "pool_proj")
#: st.graphviz_chart forces every SVG text to one small size (about 10 px), which a
#: projector cannot show; give the labels back the sizes the DOT asks for.
GRAPH_CSS = "<style>" + "".join(
    f'[data-testid="stGraphVizChart"] svg text[font-size="{size}.00"] {{ font-size: {size}px !important; }}'
    for size in graph.FONT_SIZES
) + "</style>"


# ---------------------------------------------------------------------------------------
# state: the spec, its generation, the last error


def init_state() -> None:
    """Once per session: the spec from the URL (or the preset it names, with an error)."""
    if "spec" in st.session_state:
        return
    error = None
    try:
        spec = config.spec_from_query(st.query_params.to_dict())
    except SpecError as exc:
        name = st.query_params.get("preset", "googlenet")
        name = name if name in PRESET_NAMES else "googlenet"
        spec = presets.preset(name)
        error = f"The address does not describe a valid model: {exc}. Showing the {name} preset instead."
    st.session_state.spec = spec
    st.session_state.gen = 0
    st.session_state.error = error


def current_spec():
    return st.session_state.spec


def wkey(name: str) -> str:
    """A widget key tied to the current preset and spec generation."""
    return f"{name}@{current_spec().preset}#{st.session_state.gen}"


def accept(candidate) -> bool:
    """Make ``candidate`` the current spec if the counter accepts it; otherwise remember
    the error and keep the last good spec."""
    try:
        counter.analyze(candidate)
    except SpecError as exc:
        st.session_state.error = str(exc)
        return False
    st.session_state.spec = candidate
    st.session_state.gen += 1
    st.session_state.error = None
    return True


def sync_url(spec) -> None:
    query = config.spec_to_query(spec)
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


def reference_widths(spec, block_name: str) -> dict[str, int]:
    """The widths "reduced" restores: the preset's, or the paper's when the preset's
    block is itself naive."""
    base = presets.preset(spec.preset)
    ref = base.block(block_name).widths if block_name in base.block_names else spec.block(block_name).widths
    if ref["3x3_reduce"] == 0 and ref["5x5_reduce"] == 0 and ref["pool_proj"] == 0 and block_name in PAPER_WIDTHS:
        ref = dict(zip(WIDTH_KEYS, PAPER_WIDTHS[block_name]))
    return ref


def with_form(spec, block_name: str, naive: bool):
    """Switch one block between Figure 2(a) (naive) and 2(b) (reduced)."""
    if naive:
        return spec.with_block(block_name, **{k: 0 for k in NAIVE_KEYS})
    ref = reference_widths(spec, block_name)
    return spec.with_block(block_name, **{k: ref[k] for k in NAIVE_KEYS})


# -- callbacks (run before the script, so the page always draws the accepted spec) ------


def _on_preset(key: str) -> None:
    accept(presets.preset(st.session_state[key]))


def _on_reset() -> None:
    accept(presets.preset("googlenet"))


def _on_options(keys: dict[str, str]) -> None:
    spec = current_spec()
    v = {name: st.session_state.get(key) for name, key in keys.items()}
    for name in ("height", "width", "channels"):
        if v[name] is None:
            st.session_state.error = f"input {name} needs a number"
            return
    changes = dict(
        input_shape=(int(v["height"]), int(v["width"]), int(v["channels"])),
        lrn=bool(v["lrn"]),
        aux=bool(v["aux"]),
    )
    if "classes" in v and v["classes"] is not None:
        changes["classes"] = int(v["classes"])
    accept(spec.with_options(**changes))


def _uploaded_config(upload):
    """The spec of an uploaded config JSON; the size is checked before the bytes are read.
    The caller puts the file's name in front of the error."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise SpecError(f"{upload.size:,} bytes; a config is at most {MAX_UPLOAD_BYTES:,}")
    return config.loads_config(upload.getvalue())


def _on_upload(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        return
    try:
        spec = _uploaded_config(upload)
    except SpecError as exc:
        st.session_state.error = f"{upload.name}: {exc}"
        return
    accept(spec)


def _on_width(block_name: str, width: str, key: str) -> None:
    value = st.session_state.get(key)
    if value is None:
        st.session_state.error = f"{block_name} {width} needs a number (0 drops or skips it)"
        return
    try:
        accept(current_spec().with_block(block_name, **{width: int(value)}))
    except SpecError as exc:
        st.session_state.error = str(exc)


def _on_form(block_name: str, key: str) -> None:
    accept(with_form(current_spec(), block_name, bool(st.session_state[key])))


def _table_row(pos, names: list[str]) -> str:
    """The block name of the editor's row ``pos`` (an int or its text, 0-based)."""
    text = str(pos)
    if isinstance(pos, bool) or not (isinstance(pos, int) or (isinstance(pos, str) and text.isdecimal() and text.isascii())):
        raise SpecError(f"the block table has no row {text[:20]!r}")
    index = int(text)
    if not 0 <= index < len(names):
        raise SpecError(f"the block table has no row {text[:20]!r}; rows are 0 to {len(names) - 1}")
    return names[index]


def _table_width(value, name: str, col: str) -> int:
    """A width cell's value as an int (the editor sends ints or floats)."""
    if value is None or (isinstance(value, float) and value != value):
        raise SpecError(f"{name} {col} needs a number (0 drops or skips it)")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value in (float("inf"), float("-inf")) or float(value) != int(value):
        shown = repr(value)[:20]
        raise SpecError(f"{name} {col} must be a whole number from 0 to {MAX_WIDTH}; got {shown}")
    if not 0 <= value <= MAX_WIDTH:
        raise SpecError(f"{name} {col} must be from 0 to {MAX_WIDTH}; got {int(value)}")
    return int(value)


def apply_table_edits(spec, edits: dict, names: list[str]):
    """The spec after the data editor's ``edited_rows`` (``{row: {column: value}}``,
    relative to the table drawn from ``spec``). A changed *naive* tick switches the
    block's form first; then width cells apply; other columns are read-only and ignored.
    Raises :class:`SpecError` (one line) for anything else."""
    for pos, change in edits.items():
        name = _table_row(pos, names)
        if not isinstance(change, dict):
            raise SpecError(f"the block table's row {name} edit must map columns to values")
        if "naive" in change and bool(change["naive"]) != spec.block(name).is_naive:
            spec = with_form(spec, name, bool(change["naive"]))
        widths = {col: _table_width(value, name, col) for col, value in change.items() if col in WIDTH_KEYS}
        if widths:
            spec = spec.with_block(name, **widths)
    return spec


# ---------------------------------------------------------------------------------------
# sidebar


def sidebar_ui(spec) -> str | None:
    """Preset, input, options, reset, config upload/download. Returns the block in focus."""
    sb = st.sidebar
    sb.title("Inception Explorer")
    key = wkey("preset")
    sb.selectbox(
        "Preset",
        PRESET_NAMES,
        index=PRESET_NAMES.index(spec.preset),
        key=key,
        on_change=_on_preset,
        args=(key,),
        help="googlenet: the paper · simplified: the lecture's InceptionV1 · block: the lecture's one-block demo · naive: every block in Figure 2(a) form",
    )
    sb.button("Reset to the paper's GoogLeNet", on_click=_on_reset, width="stretch")

    sb.subheader("Input and options")
    has_classes = any(isinstance(l, Dense) and l.units is None for l in spec.layers) or bool(spec.aux_heads)
    keys = {n: wkey(f"opt-{n}") for n in ("height", "width", "channels", "classes", "lrn", "aux")}
    if not has_classes:
        keys.pop("classes")
    c1, c2, c3 = sb.columns(3)
    h, w, c = spec.input_shape
    c1.number_input("Height", 1, 4096, h, 1, key=keys["height"], on_change=_on_options, args=(keys,))
    c2.number_input("Width", 1, 4096, w, 1, key=keys["width"], on_change=_on_options, args=(keys,))
    c3.number_input("Channels", 1, 64, c, 1, key=keys["channels"], on_change=_on_options, args=(keys,))
    if has_classes:
        sb.number_input("Classes", 1, 100_000, spec.classes, 1, key=keys["classes"], on_change=_on_options, args=(keys,))
    has_lrn = any(isinstance(l, LRN) for l in spec.layers)
    sb.checkbox("LRN layers", spec.lrn, key=keys["lrn"], on_change=_on_options, args=(keys,), disabled=not has_lrn,
                help="Local response normalisation after conv1/pool1 and conv2 (Caffe semantics)" if has_lrn else "this preset has no LRN layers")
    sb.checkbox("Auxiliary classifiers", spec.aux, key=keys["aux"], on_change=_on_options, args=(keys,), disabled=not spec.aux_heads,
                help="The paper's two training-only side heads on 4a and 4d" if spec.aux_heads else "this preset has no auxiliary heads")

    focus = None
    if spec.blocks:
        focus = sb.selectbox("Block in focus", spec.block_names, key=f"focus@{spec.preset}",
                             help="The block the editor, the block graph and the seed comparison show")

    sb.subheader("Share")
    sb.caption("The address bar holds the whole model: copy it to share this exact configuration.")
    sb.download_button("Download config JSON", config.dumps_config(spec), file_name=f"{spec.name}.json",
                       mime="application/json", width="stretch")
    up = wkey("upload")
    sb.file_uploader("Load a config JSON", type=["json"], key=up, on_change=_on_upload, args=(up,),
                     max_upload_size=1, help=f"at most {MAX_UPLOAD_BYTES // 1024} KiB")
    return focus


# ---------------------------------------------------------------------------------------
# headline


def headline_ui(spec, report, base) -> None:
    st.title(f"Inception Explorer · {spec.name}")
    if spec.description:
        st.caption(spec.description)
    if st.session_state.error:
        st.error(st.session_state.error)

    def delta(a: int, b: int) -> str | None:
        return None if a == b else f"{a - b:+,} vs preset"

    cols = st.columns(4)
    cols[0].metric("Parameters (weights + biases)", fmt_int(report.total_params), delta(report.total_params, base.total_params), delta_color="off")
    cols[1].metric("Multiply-adds (MACs) per image", fmt_int(report.total_macs), delta(report.total_macs, base.total_macs), delta_color="off")
    cols[2].metric("Depth (layers with weights)", f"{report.depth} layers", delta(report.depth, base.depth), delta_color="off")
    out_delta = None if report.output_shape == base.output_shape else f"preset: {shape_str(base.output_shape)}"
    cols[3].metric("Output size", shape_str(report.output_shape), out_delta, delta_color="off")


# ---------------------------------------------------------------------------------------
# editing


def block_table(spec, report) -> pd.DataFrame:
    base = presets.preset(spec.preset)
    rows = []
    for b in spec.blocks:
        r = report.row(b.name)
        ref = base.block(b.name).widths if b.name in base.block_names else b.widths
        changed = [f"{k}: {ref[k]}→{v}" for k, v in b.widths.items() if ref[k] != v]
        rows.append({
            **b.widths,
            "naive": b.is_naive,
            "input": shape_str(r.input_shape),
            "output": shape_str(r.output_shape),
            "params": fmt_int(r.params),
            "vs preset": ", ".join(changed) or "=",
        })
    return pd.DataFrame(rows, index=list(spec.block_names))


EDITED_CELL = "background-color: #FFD8B0; font-weight: bold"


def edited_blocks_styler(spec) -> "pd.io.formats.style.Styler | None":
    """The blocks whose widths differ from the preset, with those cells highlighted (the
    data editor cannot style cells); None when nothing is edited."""
    base = presets.preset(spec.preset)
    names = [b.name for b in spec.blocks if b.name in base.block_names and b.widths != base.block(b.name).widths]
    if not names:
        return None
    df = pd.DataFrame([spec.block(n).widths for n in names], index=names)
    ref = pd.DataFrame([base.block(n).widths for n in names], index=names)
    styles = pd.DataFrame("", index=df.index, columns=df.columns).where(df == ref, EDITED_CELL)
    return df.style.apply(lambda _: styles, axis=None)


def editor_ui(spec, report, focus: str | None) -> None:
    """The six widths of every block (table) and of the block in focus (inputs), with
    the Figure 2(a)/(b) switch. Cells that differ from the preset are highlighted."""
    if not spec.blocks:
        st.info("This model has no Inception blocks.")
        return
    if focus:  # the block in focus first: +/- buttons are the quickest edit while talking
        block_inputs_ui(spec, report, focus)
    st.subheader("All blocks")
    st.caption("Widths in the paper's Table 1 order. 0 drops a branch (1x1, 3x3, 5x5), skips a reduction "
               "(3x3_reduce, 5x5_reduce: Figure 2(a)) or leaves the pooled input unprojected (pool_proj). "
               "Tick *naive* for Figure 2(a); untick to restore the reductions.")
    key = wkey("table")
    names = list(spec.block_names)
    width_cols = {k: st.column_config.NumberColumn(k, min_value=0, max_value=MAX_WIDTH, step=1, required=True, format="%d") for k in WIDTH_KEYS}
    st.data_editor(
        block_table(spec, report),
        key=key,
        disabled=["input", "output", "params", "vs preset"],
        column_config={**width_cols, "naive": st.column_config.CheckboxColumn("naive (2a)")},
        width="stretch",
    )
    # Edits are relative to the table drawn from the current spec; an accepted edit makes
    # a new spec (and a new table key), so the table is redrawn from it.
    edits = (st.session_state.get(key) or {}).get("edited_rows") or {}
    if edits:
        try:
            candidate = apply_table_edits(spec, edits, names)
            counter.analyze(candidate)
        except SpecError as exc:
            st.error(f"{exc}. The model above is the last valid one.")
        else:
            accept(candidate)
            st.rerun()
    edited = edited_blocks_styler(spec)
    if edited is not None:
        st.caption(f"Edited against the {spec.preset} preset (changed cells in orange):")
        st.dataframe(edited, width="stretch")



def block_inputs_ui(spec, report, focus: str) -> None:
    b = spec.block(focus)
    row = report.row(focus)
    ref = reference_widths(spec, focus)
    st.subheader(f"{focus}: {shape_str(row.input_shape)} → {shape_str(row.output_shape)}, {fmt_int(row.params)} params")
    fkey = wkey(f"form-{focus}")
    st.toggle("Naive form, Figure 2(a) (no 1x1 reductions, unprojected pool)", b.is_naive, key=fkey, on_change=_on_form, args=(focus, fkey))
    cols = st.columns(6)
    for col, k in zip(cols, WIDTH_KEYS):
        key = wkey(f"w-{focus}-{k}")
        edited = b.widths[k] != presets.preset(spec.preset).block(focus).widths[k]
        col.number_input(
            f"{k} ✎" if edited else k,
            min_value=0,
            max_value=MAX_WIDTH,
            value=b.widths[k],
            step=1,
            key=key,
            on_change=_on_width,
            args=(focus, k, key),
            help=f"preset: {presets.preset(spec.preset).block(focus).widths[k]}; reduced form: {ref[k]}",
        )
    parts = " + ".join(f"{row.branches[k].channels}" for k in BRANCH_KEYS)
    st.caption(f"Concat: {parts} = {row.output_shape[2]} maps (1x1 + 3x3 + 5x5 + pool branch)")


# ---------------------------------------------------------------------------------------
# seeing the architecture


@st.cache_data(max_entries=32, show_spinner=False)
def _render(source: str, fmt: str) -> bytes:
    return render.render(source, fmt)


def graph_ui(spec, report, focus: str | None) -> None:
    c1, c2, c3 = st.columns([2, 1, 1])
    views = ["Overview"] + ([f"Block detail: {focus}"] if focus else [])
    view = c1.radio("View", views, horizontal=True, key="graph-view")
    rankdir = c2.radio("Layout", ["top to bottom", "left to right"], horizontal=True, key="graph-layout")
    wrap = c3.slider("Overview: nodes per row", 2, 8, 4, key="graph-wrap", help="Fewer nodes per row = larger text")
    rankdir = "TB" if rankdir == "top to bottom" else "LR"
    base = presets.preset(spec.preset)
    edited = {b.name for b in spec.blocks if b.name in base.block_names and b.widths != base.block(b.name).widths}
    if view == "Overview":
        source, stem = graph.overview_dot(report, rankdir, edited, wrap), f"{spec.name}_overview"
    else:
        source, stem = graph.block_dot(report, focus, rankdir), f"{spec.name}_{focus}"
    st.html(GRAPH_CSS)
    st.graphviz_chart(source, width="stretch")
    legend = " ".join(
        f'<span style="background:{BRANCH_COLORS[k]};color:white;padding:2px 8px;border-radius:4px;margin-right:6px">{graph.BRANCH_LABELS[k]}</span>'
        for k in BRANCH_KEYS
    )
    st.markdown(legend + (" ✎ = edited against the preset" if edited else ""), unsafe_allow_html=True)
    d1, d2, d3 = st.columns(3)
    d1.download_button("Download DOT", source, file_name=f"{stem}.dot", mime="text/vnd.graphviz")
    if render.dot_available():
        d2.download_button("Download SVG", lambda: _render(source, "svg"), file_name=f"{stem}.svg", mime="image/svg+xml")
        d3.download_button("Download PNG", lambda: _render(source, "png"), file_name=f"{stem}.png", mime="image/png")
    else:
        st.info(f"SVG and PNG downloads need Graphviz's `dot`: {render.INSTALL_HINT}. The DOT file renders anywhere.")


def chart(fig, key: str) -> None:
    """A Plotly figure with its own fonts and colours (Streamlit's theme would shrink the
    fonts a projector needs and recolour the branches)."""
    st.plotly_chart(fig, theme=None, key=key)


def charts_ui(spec, report) -> None:
    if not report.blocks:
        chart(figures.activation_memory_figure(report), "chart-mem")
        return
    metric = st.radio("Per-block metric", ["params", "macs"], horizontal=True, key="chart-metric",
                      format_func=lambda m: "parameters" if m == "params" else "multiply-adds (MACs)")
    chart(figures.block_metric_figure(report, metric), "chart-blocks")
    chart(figures.channel_flow_figure(report), "chart-flow")
    chart(figures.branch_share_figure(report, metric), "chart-share")
    chart(figures.activation_memory_figure(report), "chart-mem")


def _num(v) -> str:
    return "" if v is None else f"{v:,.1f}"


def _pct(d) -> str:
    return "" if d is None else f"{d:+.1%}"


def paper_ui(spec, report) -> None:
    st.caption("Szegedy et al. 2015, Table 1, beside the current model. Params in the paper's unit: "
               "K = 1024 weights, biases excluded. Ops in millions (10^6) of multiply-adds.")
    if spec.preset not in ("googlenet", "naive"):
        st.info(f"Table 1 describes GoogLeNet; the {spec.preset} preset shares only some layer names with it.")
    comps = paper.compare(report)
    rows = []
    for c in comps:
        p = c.paper
        rows.append({
            "layer": p.label,
            "output (paper)": shape_str(p.output),
            "output (here)": shape_str(c.output) if c.output else "—",
            "params K (paper)": _num(p.params_k),
            "params K (here)": _num(c.params_k if p.params_k is not None else None),
            "Δ params": _pct(c.params_delta),
            "ops M (paper)": _num(p.ops_m),
            "ops M (here)": _num(c.ops_m if p.ops_m is not None else None),
            "Δ ops": _pct(c.ops_delta),
            "status": c.status,
        })
    df = pd.DataFrame(rows)
    colors = {"agrees": "#D9F2E3", "paper error": "#FFE7B3", "edited": "#DCEBFA", "differs": "#F9D0D0", "missing": "#EEEEEE"}
    styled = df.style.apply(lambda r: [f"background-color: {colors.get(r['status'], '')}"] * len(r), axis=1)
    st.dataframe(styled, width="stretch", hide_index=True, height=38 * (len(df) + 1))
    for c in comps:
        if c.status == "paper error":
            st.warning(f"**{c.paper.label}** ({c.name}): the paper's numbers are off. {c.note}")
        elif c.status in ("differs", "edited"):
            st.info(f"**{c.paper.label}** ({c.name}): {c.note}")


def seed_ui(spec, report, focus: str | None) -> None:
    """The lecture's comparison: a block against plain 3x3 and 5x5 convs with the same
    input and the same number of output maps."""
    if not focus:
        st.info("This model has no Inception blocks.")
        return
    row = report.row(focus)
    padding = st.radio("Plain conv padding", ["valid", "same"], horizontal=True, key="seed-padding",
                       help="The lecture's slides use Keras's default, valid (32x32 → 28x28 for 5x5)")
    maps = row.output_shape[2]

    def table(filters: int) -> pd.DataFrame:
        c3 = counter.conv_baseline(row.input_shape, filters, 3, padding)
        c5 = counter.conv_baseline(row.input_shape, filters, 5, padding)
        out = []
        for label, r in ((f"Inception {focus}", row), (f"plain 3x3 conv, {filters} filters", c3), (f"plain 5x5 conv, {filters} filters", c5)):
            out.append({
                "model": label,
                "input": shape_str(row.input_shape),
                "output": shape_str(r.output_shape),
                "params": fmt_int(r.params),
                "params / block": f"{r.params / row.params:.1f}x",
                "MACs": fmt_int(r.macs),
                "MACs / block": f"{r.macs / row.macs:.1f}x" if row.macs else "",
            })
        return pd.DataFrame(out)

    st.subheader(f"{focus} against plain convolutions with {maps} output maps")
    st.dataframe(table(maps), width="stretch", hide_index=True)
    b = spec.block(focus)
    if spec.preset == "block" and b.width_tuple == presets.preset("block").block(focus).width_tuple:
        w = b.widths
        st.warning(
            f"The slide says this block gives 160 feature maps, but the concat has "
            f"{w['1x1']} + {w['3x3']} + {w['5x5']} + {w['pool_proj']} = {maps} "
            "(1x1 + 3x3 + 5x5 + pool projection). The slide's plain convs use 160 filters:"
        )
        st.dataframe(table(160), width="stretch", hide_index=True)


def _blocks_compare(a, b) -> pd.DataFrame:
    names = list(a.spec.block_names) + [n for n in b.spec.block_names if n not in a.spec.block_names]
    rows = []
    for n in names:
        ra = a.row(n) if n in a.spec.block_names else None
        rb = b.row(n) if n in b.spec.block_names else None

        def get(r, f):
            return None if r is None else f(r)

        pa, pb = get(ra, lambda r: r.params), get(rb, lambda r: r.params)
        ma, mb = get(ra, lambda r: r.macs), get(rb, lambda r: r.macs)
        rows.append({
            "block": n,
            "widths (current)": get(ra, lambda r: "-".join(map(str, a.spec.block(n).width_tuple))) or "—",
            "widths (other)": get(rb, lambda r: "-".join(map(str, b.spec.block(n).width_tuple))) or "—",
            "output (current)": get(ra, lambda r: shape_str(r.output_shape)) or "—",
            "output (other)": get(rb, lambda r: shape_str(r.output_shape)) or "—",
            "params (current)": fmt_int(pa) if pa is not None else "—",
            "params (other)": fmt_int(pb) if pb is not None else "—",
            "Δ params": f"{pb - pa:+,}" if None not in (pa, pb) else "—",
            "MACs (current)": fmt_int(ma) if ma is not None else "—",
            "MACs (other)": fmt_int(mb) if mb is not None else "—",
            "Δ MACs": f"{mb - ma:+,}" if None not in (ma, mb) else "—",
        })
    rows.append({
        "block": "whole model",
        "params (current)": fmt_int(a.total_params), "params (other)": fmt_int(b.total_params),
        "Δ params": f"{b.total_params - a.total_params:+,}",
        "MACs (current)": fmt_int(a.total_macs), "MACs (other)": fmt_int(b.total_macs),
        "Δ MACs": f"{b.total_macs - a.total_macs:+,}",
    })
    return pd.DataFrame(rows).fillna("")


def compare_ui(spec, report) -> None:
    choices = [f"preset {n}" for n in PRESET_NAMES] + ["an uploaded config"]
    default = choices.index("preset naive") if spec.preset == "googlenet" else 0
    pick = st.selectbox("Compare the current model with", choices, index=default, key="compare-pick")
    other = None
    if pick == "an uploaded config":
        upload = st.file_uploader("Config JSON to compare with", type=["json"], key="compare-upload", max_upload_size=1)
        if upload is None:
            st.info("Upload a config JSON (as saved with *Download config JSON*).")
            return
        try:
            other = _uploaded_config(upload)
        except SpecError as exc:
            st.error(f"{upload.name}: {exc}")
            return
        label = upload.name
    else:
        other = presets.preset(pick.removeprefix("preset "))
        label = other.name
    other_report = counter.analyze(other)
    c = st.columns(3)
    c[0].metric(f"Parameters: {label}", fmt_int(other_report.total_params), f"{other_report.total_params - report.total_params:+,} vs current", delta_color="off")
    c[1].metric(f"MACs: {label}", fmt_int(other_report.total_macs), f"{other_report.total_macs - report.total_macs:+,} vs current", delta_color="off")
    c[2].metric(f"Output: {label}", shape_str(other_report.output_shape))
    st.dataframe(_blocks_compare(report, other_report), width="stretch", hide_index=True)
    metric = st.radio("Chart", ["params", "macs"], horizontal=True, key="compare-metric")
    if report.blocks or other_report.blocks:
        chart(figures.compare_figure(report, other_report, metric, "current", label), "chart-compare")


def code_ui(spec) -> None:
    code = codegen.keras_code(spec)
    st.caption("Plain Keras 3, in the style of the lecture's inception(...) helper; paste it into a notebook. "
               "It builds the same network as the app (same parameters, same shapes).")
    st.download_button("Download as .py", code, file_name=f"{spec.name}.py", mime="text/x-python")
    st.code(code, language="python")


# ---------------------------------------------------------------------------------------
# instantiating (TensorFlow is imported here only, on demand)


def _keras_model_module():
    from inception_viz import keras_model  # imports TensorFlow (~3 s)

    return keras_model


def _release_model(model) -> None:
    del model
    gc.collect()


@st.cache_resource(max_entries=MODEL_CACHE_ENTRIES, show_spinner="Building the Keras model…", on_release=_release_model)
def build_model(config_text: str, device: str, _spec):
    """The Keras model of ``_spec`` on ``device``; keyed by the spec's full config text."""
    return _keras_model_module().build_keras(_spec, device=device, seed=0)


def _summary(model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *a, **k: lines.append(line), line_length=110)
    return "\n".join(lines)


def _keras_bytes(model, spec) -> bytes:
    """The built model as a ``.keras`` file with this app's entry (config, preprocessing),
    so the Predictions tab loads it back as what it is: ``build_model`` seeds with 0."""
    from inception_viz import weights as W

    with tempfile.TemporaryDirectory() as tmp:
        path = W.save_model_file(model, os.path.join(tmp, "model.keras"), spec, W.random_weights(0))
        return path.read_bytes()


def instantiate_ui(spec, report) -> None:
    st.caption("Builds the model with Keras 3 (TensorFlow backend). TensorFlow loads (a few seconds) only when you turn this on.")
    if not st.toggle("Load TensorFlow", key="tf-on"):
        return
    with st.spinner("Loading TensorFlow…"):
        km = _keras_model_module()
        devices = km.available_devices()
    c1, c2 = st.columns([2, 1])
    device = c1.selectbox("Device", devices, key="tf-device", help="What TensorFlow sees: the CPU always, GPUs when present")
    key_text = config.dumps_config(spec)
    built_key = (key_text, device)
    if c2.button("Build", type="primary", width="stretch"):
        st.session_state.built = built_key
    if st.session_state.get("built") != built_key:
        st.info(f"Press Build to create {spec.name} ({fmt_int(report.total_params)} params) on {device}.")
        return
    try:
        model = build_model(key_text, device, spec)
    except SpecError as exc:
        st.error(str(exc))
        return
    st.success(f"Built on {device}: Keras count_params() = {fmt_int(model.count_params())} "
               f"(the counter: {fmt_int(report.total_params)}).")
    with st.expander("model.summary()"):
        st.code(_summary(model), language=None)
    st.download_button("Download the built model (.keras)", lambda: _keras_bytes(model, spec), file_name=f"{spec.name}.keras",
                       mime="application/zip", help="Saved with model.save; load with keras.models.load_model(..., safe_mode=True)")

    if report.blocks:
        st.subheader("Latency per block")
        c1, c2 = st.columns(2)
        batch = c1.number_input("Batch size", 1, 64, 1, key="prof-batch")
        repeats = c2.number_input("Timed runs (median)", 1, 100, 10, key="prof-repeats")
        if st.button("Measure latency per block"):
            from inception_viz import profile

            with st.spinner(f"Timing every block on {device}…"):
                st.session_state.timings = (built_key, profile.profile_blocks(model, spec, device, int(batch), int(repeats)))
        timings = st.session_state.get("timings")
        if timings and timings[0] == built_key:
            rows = [{"block": t.name, "MACs per image": fmt_int(t.macs), "batch": t.batch,
                     "median ms": round(t.ms, 3), "GFLOP/s (2 x MACs / time)": round(t.gflops, 1)} for t in timings[1]]
            st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)
            chart(figures.latency_figure([t for t in timings[1] if t.name in spec.block_names]), "chart-latency")
            st.caption("Measured now, on this machine; numbers vary with load. One multiply-add = 2 FLOPs.")


# ---------------------------------------------------------------------------------------
# predictions and feature maps: weights, an image, one forward pass, Grad-CAM
# (TensorFlow is imported only once the section is switched on)

WEIGHT_SOURCES = ("Random (untrained)", "ImageNet (ONNX Model Zoo GoogLeNet)", "A weights file")
#: Uploaded weights files: the zoo's googlenet-12.onnx is 26.7 MiB.
MAX_WEIGHTS_UPLOAD_MB = 64
MAX_IMAGE_UPLOAD_MB = 20


@st.cache_resource(max_entries=2, show_spinner="Reading the weights…")
def _weights_from_bytes(digest: str, name: str, _data: bytes):
    """Weights of an uploaded file, keyed by its SHA-256."""
    from inception_viz import weights as W

    return W.load_weights_file(_data, name=name)


@st.cache_resource(max_entries=1, show_spinner="Reading the ImageNet weights…")
def _zoo_weights(path: str, mtime_ns: int):
    from inception_viz import weights as W

    return W.load_onnx(path)


def _runner(spec, weights):
    """A model of ``spec`` with ``weights`` transferred onto it, its compiled forward and
    activation pass, from :func:`inception_viz.inference.get_runner`: one process-wide LRU
    of ``MAX_RUNNERS`` models behind one lock, so thirty students pressing predict on
    thirty different edits build one model at a time instead of thirty at once (the load
    test's burst peaked at ~5 GB with a per-spec cache)."""
    from inception_viz import inference  # imports TensorFlow

    with st.spinner("Building the model and loading the weights…"):
        return inference.get_runner(spec, weights)


@st.cache_data(max_entries=16, show_spinner=False)
def _decode(data: bytes, name: str):
    from inception_viz import images

    return images.decode_image(data, name)


@st.cache_data(max_entries=8, show_spinner=False)
def _sample(name: str):
    from inception_viz import images

    return images.load_sample(name)


def _zoo_missing_ui() -> None:
    from inception_viz import weights as W

    st.info(f"The ImageNet weights (googlenet-12.onnx, {fmt_int(W.ZOO_SIZE)} bytes) are not in {W.cache_dir()} yet.")
    c1, c2 = st.columns(2)
    if c1.button("Download from the ONNX Model Zoo", key="pred-download"):
        bar = st.progress(0.0, text="Downloading googlenet-12.onnx…")
        try:
            W.download_zoo(progress=lambda d, t: bar.progress(min(d / t, 1.0), text=f"{fmt_int(d)} of {fmt_int(t)} bytes"))
        except SpecError as exc:
            st.error(str(exc))
            return
        st.rerun()
    local = c2.text_input("…or the path of a copy on this machine", key="pred-zoo-path",
                          placeholder="/media/usb/googlenet-12.onnx")
    if local:
        try:
            W.install_zoo_file(local.strip())
        except SpecError as exc:
            st.error(str(exc))
            return
        st.rerun()
    st.caption(f"Source: {W.ZOO_URL}. Checked against SHA-256 {W.ZOO_SHA256}. Offline: copy the file into "
               f"{W.cache_dir()} (or set INCEPTION_VIZ_CACHE), or upload it under “{WEIGHT_SOURCES[2]}”.")


def weights_ui():
    """The chosen weights, or ``None`` while none are available. A bad file shows an error
    and keeps the last good weights."""
    import hashlib

    from inception_viz import weights as W

    source = st.radio("Weights", WEIGHT_SOURCES, key="pred-source", horizontal=True)
    if source == WEIGHT_SOURCES[0]:
        return W.random_weights(0)
    if source == WEIGHT_SOURCES[1]:
        path = W.cached_zoo_path()
        if path is None:
            _zoo_missing_ui()
            return None
        return _zoo_weights(str(path), path.stat().st_mtime_ns)
    up = st.file_uploader("googlenet-12.onnx, or a .keras / .weights.h5 saved by this app", type=["onnx", "keras", "h5"],
                          key="pred-weights-file", max_upload_size=MAX_WEIGHTS_UPLOAD_MB)
    if up is None:
        st.info("Upload a weights file: the ONNX Model Zoo's googlenet-12.onnx, or a .keras / .weights.h5 saved by this app.")
        return None
    data = up.getvalue()
    try:
        weights = _weights_from_bytes(hashlib.sha256(data).hexdigest(), up.name, data)
    except SpecError as exc:
        st.error(f"{up.name}: {exc}")
        last = st.session_state.get("pred-good-weights")
        if last is not None:
            st.caption(f"Still using {last.label}.")
        return last
    st.session_state["pred-good-weights"] = weights
    return weights


def image_ui():
    """``(name, rgb)`` of the chosen image: a bundled sample or an upload. A bad upload
    shows an error and keeps the last good image."""
    from inception_viz import images

    c1, c2 = st.columns([1, 2])
    sample = c1.selectbox("Sample photo", list(images.SAMPLES), key="pred-sample",
                          help="Bundled photos (CC0 / public domain, see assets/README)")
    up = c2.file_uploader("…or your own image (JPEG, PNG, WebP, BMP, GIF)", type=["jpg", "jpeg", "png", "webp", "bmp", "gif"],
                          key="pred-image-file", max_upload_size=MAX_IMAGE_UPLOAD_MB)
    if up is None:
        return sample, _sample(sample)
    try:
        rgb = _decode(up.getvalue(), up.name)
    except SpecError as exc:
        st.error(str(exc))
        last = st.session_state.get("pred-good-image")
        if last is not None:
            st.caption(f"Still showing {last[0]}.")
            return last
        return sample, _sample(sample)
    st.session_state["pred-good-image"] = (up.name, rgb)
    return up.name, rgb


def transfer_ui(spec, runner) -> None:
    """Which layers carry the loaded weights after the lecturer's edits."""
    t = runner.transfer
    n_all = len(t.pretrained) + len(t.fresh)
    if not t.fresh:
        st.caption(f"All {n_all} layers with weights carry the loaded weights.")
        return
    st.warning(f"{len(t.fresh)} of {n_all} layers with weights no longer fit the loaded weights after your edits and "
               "were freshly initialised; every other layer keeps its pretrained weights.")
    status = t.layer_status(spec)
    rows = [{"layer": name, "weights": s} for name, s in status.items() if s != "no weights"]
    with st.expander("Which layers are pretrained", expanded=True):
        st.html(GRAPH_CSS)
        st.graphviz_chart(graph.overview_dot(runner.report, status=status), width="stretch")
        st.markdown(
            " ".join(
                f'<span style="border:3px {"solid" if "dashed" not in style else "dashed"} {color};padding:2px 8px;'
                f'border-radius:4px;margin-right:6px">{text}</span>'
                for text, color, style in graph.WEIGHT_STATUS_STYLE.values()
            ),
            unsafe_allow_html=True,
        )
        branches = runner.transfer.branch_status(spec)
        for r in rows:
            if r["layer"] in branches:
                r.update({f"branch {k}": v for k, v in branches[r["layer"]].items()})
        st.dataframe(pd.DataFrame(rows).fillna(""), width="stretch", hide_index=True)


def feature_maps_ui(spec, runner, acts) -> None:
    from inception_viz import images, inference

    groups = ["stem", *spec.block_names]
    c1, c2 = st.columns([2, 1])
    group = c1.selectbox("Feature maps of", groups, index=1 if spec.blocks else 0, key="pred-group")
    sort = c2.radio("Channel order", ("index", "mean"), key="pred-sort", horizontal=True,
                    format_func=lambda s: "as in the layer" if s == "index" else "by mean activation")
    mosaics = inference.block_mosaics(acts, runner.report, group, sort=sort)
    layers = inference.group_layers(spec, group)
    cols = st.columns(min(3, len(mosaics)))
    for i, (key, m) in enumerate(mosaics.items()):
        h, w = m.tile
        title = key if group == "stem" else (f"{group} (concat)" if key == "concat" else f"branch {key}")
        cols[i % len(cols)].image(
            m.image, output_format="PNG", width="stretch",
            caption=f"{title}: {len(m.order)} channels of {h}x{w}; colour scale {m.vmin:.3g} (dark) … {m.vmax:.3g} (yellow)",
        )
    st.caption("One colour scale per mosaic (its minimum and maximum over all channels); white separates channels."
               + (" Channels sorted by mean activation, largest first." if sort == "mean" else ""))
    c1, c2 = st.columns([1, 1])
    which = c1.selectbox("Enlarge one channel of", list(mosaics), key="pred-enlarge-map")
    m = mosaics[which]
    # the key carries the map, so a channel number valid for one map never overflows another
    channel = int(c2.number_input(f"Channel (0–{len(m.order) - 1})", 0, len(m.order) - 1, int(m.order[0]),
                                  key=f"pred-enlarge-ch:{group}:{which}"))
    values = acts[layers[which]][0][:, :, channel]
    st.image(images.channel_image(acts[layers[which]], channel, 320, vmin=m.vmin, vmax=m.vmax), output_format="PNG",
             caption=f"{layers[which]} channel {channel}: mean {values.mean():.4g}, max {values.max():.4g} "
                     f"(same colour scale as its mosaic)")


def gradcam_ui(spec, runner, rgb, shown, preds) -> None:
    from inception_viz import images

    c1, c2 = st.columns(2)
    block = c1.selectbox("Grad-CAM at", spec.block_names, index=len(spec.block_names) - 1, key="pred-cam-block")
    top = preds[0].index
    cls = c2.selectbox("for class", range(spec.classes), index=top, key=f"pred-cam-class:{spec.classes}",
                       format_func=lambda i: f"{i}: {runner.labels[i]}" + (" (top)" if i == top else ""))
    try:
        g = runner.gradcam(rgb, block, int(cls))
    except SpecError as exc:
        st.error(str(exc))
        return
    st.image(images.overlay_heatmap(shown, g.heatmap), output_format="PNG", width=448,
             caption=f"Grad-CAM at {block} ({g.heatmap.shape[0]}x{g.heatmap.shape[1]}, upsampled) for "
                     f"{g.label} (p = {g.prob:.4f}): where the gradient of that class's logit says "
                     f"{block}'s channels matter (dark: none, bright yellow: the most)."
                     + (" No positive evidence: the map is empty." if g.peak <= 0 else ""))


def predictions_ui(spec) -> None:
    """Predictions, per-branch feature maps and Grad-CAM for an image, with random,
    ImageNet or uploaded weights."""
    h, w, c = spec.input_shape
    if c not in (1, 3):
        st.info(f"The {spec.name} model takes {h}x{w}x{c} inputs, not images. Choose a preset with an image input "
                "(googlenet, simplified or naive) to see predictions and feature maps.")
        return
    name, rgb = image_ui()  # Pillow only: the sample photo shows before TensorFlow loads
    st.caption("Runs the network on this image. TensorFlow loads (a few seconds) only when you turn this on.")
    if not st.toggle("Run the network on an image", key="pred-on"):
        st.image(rgb, caption=f"{name} ({rgb.shape[1]}x{rgb.shape[0]} pixels)", width=320)
        return
    weights = weights_ui()
    if weights is None:
        return
    try:
        runner = _runner(spec, weights)
        from inception_viz import images, inference

        shown = images.resize_to_input(rgb, (h, w), runner.preprocessing.resize)
        acts = runner.activations(rgb)  # one pass: every tap and the probabilities
    except SpecError as exc:
        st.error(str(exc))
        return
    if runner.note:
        st.warning(runner.note)
    st.caption(f"Weights: {weights.label}. Preprocessing: {runner.preprocessing.description}")
    if weights.by_layer is not None:
        transfer_ui(spec, runner)
    has_head = inference.PROBS in acts and acts[inference.PROBS].ndim == 2
    c1, c2 = st.columns([1, 2])
    c1.image(shown, caption=f"{name}, as the network sees it ({h}x{w})", width="stretch")
    preds = None
    if has_head:
        k = c2.slider("Top k", 1, min(20, spec.classes), min(5, spec.classes), key=f"pred-k:{spec.classes}")
        preds = inference.top_k(acts[inference.PROBS][0], k, runner.labels)
        with c2:
            chart(inference.predictions_figure(preds, f"Top {k} of {spec.classes} classes"), "chart-predictions")
    st.subheader("Feature maps")
    feature_maps_ui(spec, runner, acts)
    if preds and spec.blocks and any(isinstance(l, Dense) and l.activation is None for l in spec.active_layers):
        st.subheader("Grad-CAM")
        # Opt-in: its backward pass is about two thirds of a fresh model's prediction cost,
        # which matters when a whole class predicts at once on a 2-core laptop.
        if st.toggle("Show Grad-CAM (one extra backward pass)", key="pred-cam-on"):
            gradcam_ui(spec, runner, rgb, shown, preds)


# ---------------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="Inception Explorer", page_icon="🧩", layout="wide")
    init_state()
    spec = current_spec()
    report = counter.analyze(spec)
    base = counter.analyze(presets.preset(spec.preset))
    sync_url(spec)
    focus = sidebar_ui(spec)
    headline_ui(spec, report, base)
    tabs = dict(zip(TABS, st.tabs(list(TABS))))
    with tabs["Blocks"]:
        editor_ui(spec, report, focus)
    with tabs["Graph"]:
        graph_ui(spec, report, focus)
    with tabs["Charts"]:
        charts_ui(spec, report)
    with tabs["Paper Table 1"]:
        paper_ui(spec, report)
    with tabs["Seed comparison"]:
        seed_ui(spec, report, focus)
    with tabs["Compare"]:
        compare_ui(spec, report)
    with tabs["Code"]:
        code_ui(spec)
    with tabs["Instantiate"]:
        instantiate_ui(spec, report)
    with tabs["Predictions & feature maps"]:
        predictions_ui(spec)


if __name__ == "__main__":  # streamlit runs the script as __main__; tests import its helpers
    main()
