"""The sidebar: language, preset, reset, block in focus, and two folded sections (input and
options; share or load a config). ``app.page`` draws it on full runs only, last in the script
(the totals reach a fresh page first). Nothing here changes when a width changes, so an edit
in the main area does not redraw it; every widget here reruns the whole page (the sidebar is
outside the page's fragments), except the block in focus, which reruns only the open view."""

from __future__ import annotations

import streamlit as st

from .. import counter, i18n, presets
from ..edits import edited_blocks
from ..graph import shape_str
from ..i18n import N_, _
from ..presets import PRESET_NAMES
from ..spec import LRN, Dense, SpecError
from .common import LANG_KEY, MAX_UPLOAD_BYTES, VIEW, accept, current_spec, folded_section, localized, uploaded_config, wkey

#: The sidebar's "Block in focus" selector's key, one per preset (its value: a block name).
FOCUS_KEY = "focus@{preset}"
#: The sidebar's two lazy expanders' keys (their values: open or not).
OPTIONS_KEY, SHARE_KEY = "sb-options", "sb-share"
#: The input fields' names in the "needs a number" error (msgids).
INPUT_NAMES = {"height": N_("height"), "width": N_("width"), "channels": N_("channels")}


# -- callbacks (run before the script, so the page always draws the accepted spec) ------


def _rerun_view() -> None:
    st.rerun(VIEW)  # from a callback: a new block in focus reruns only the open view


@localized
def _on_preset(key: str) -> None:
    accept(presets.preset(st.session_state[key]))


@localized
def _on_reset() -> None:
    accept(presets.preset("googlenet"))


@localized
def _on_options(keys: dict[str, str]) -> None:
    spec = current_spec()
    v = {name: st.session_state.get(key) for name, key in keys.items()}
    for name in ("height", "width", "channels"):
        if v[name] is None:
            st.session_state.error = _("input {name} needs a number").format(name=_(INPUT_NAMES[name]))
            return
    changes = dict(
        input_shape=(int(v["height"]), int(v["width"]), int(v["channels"])),
        # a disabled box (no LRN layers / no aux heads) shows unticked: keep the spec's value
        lrn=bool(v["lrn"]) if has_lrn(spec) else spec.lrn,
        aux=bool(v["aux"]) if spec.aux_heads else spec.aux,
    )
    if "classes" in v and v["classes"] is not None:
        changes["classes"] = int(v["classes"])
    accept(spec.with_options(**changes))


@localized
def _on_upload(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        return
    try:
        spec = uploaded_config(upload)
    except SpecError as exc:
        st.session_state.error = f"{upload.name}: {exc}"  # i18n: keep
        return
    if accept(spec):
        report = counter.analyze(spec)
        tr, n = i18n.current(), len(edited_blocks(spec))
        what = (tr.ngettext("the {preset} preset with {n} edited block", "the {preset} preset with {n} edited blocks", n)
                if n else tr.gettext("the {preset} preset")).format(preset=spec.preset, n=n)
        st.session_state.notice = tr.gettext("Loaded {file}: {what}, {params} parameters.").format(
            file=upload.name, what=what, params=tr.int(report.total_params))


# -- the sidebar ------------------------------------------------------------------------


def has_lrn(spec) -> bool:
    """Whether the model has LRN layers the *LRN layers* option can switch."""
    return any(isinstance(l, LRN) for l in spec.layers)


def render(spec) -> None:
    """Language, preset, input, options, reset, block in focus, config upload. Nothing here
    changes when a width changes (the headline carries the config download), so an edit in
    the main area need not redraw the sidebar."""
    sb = st.sidebar
    sb.title("Inception Explorer")  # i18n: keep (the product's name)
    sb.selectbox(_("Language"), i18n.LANGUAGES, key=LANG_KEY, format_func=i18n.LANGUAGE_NAMES.get,
                 help=_("Also in the address: ?lang=es or ?lang=en"))
    key = wkey("preset")
    sb.selectbox(
        _("Preset"),
        PRESET_NAMES,
        index=PRESET_NAMES.index(spec.preset),
        key=key,
        on_change=_on_preset,
        args=(key,),
        help=_("googlenet: the paper · simplified: the lecture's InceptionV1 · block: the lecture's one-block demo · naive: every block in Figure 2(a) form"),
    )
    sb.button(_("Reset to the paper's GoogLeNet"), on_click=_on_reset, width="stretch")
    if spec.blocks:  # a new focus changes only the open view: rerun only that (view_area)
        sb.selectbox(_("Block in focus"), spec.block_names, key=FOCUS_KEY.format(preset=spec.preset),
                     on_change=_rerun_view, help=_("The block the editor, the block graph and the seed comparison show"))

    # Two lazy expanders (only an open one draws its widgets): the input size and the
    # options, and the config upload, change rarely during a lecture; folded, a fresh page
    # draws and loads less before the totals show. The input and options' label says
    # their current values, so nothing is hidden.
    tr = i18n.current()
    summary = _("Input and options: {shape}").format(shape=shape_str(spec.input_shape))
    if has_classes(spec):
        summary += " · " + tr.ngettext("{n} class", "{n} classes", spec.classes).format(n=tr.int(spec.classes))
    options = folded_section(sb, summary, OPTIONS_KEY)
    if options.open:
        options_ui(options, spec)
    share = folded_section(sb, _("Share or load a config"), SHARE_KEY)
    if share.open:
        share.caption(_("The address bar holds the whole model: copy it to share this exact configuration. "
                        "“Download config JSON” (beside the totals) saves it as a file."))
        up = wkey("upload")
        share.file_uploader(_("Load a config JSON"), type=["json"], key=up, on_change=_on_upload, args=(up,),
                            max_upload_size=1, help=_("at most {size} KiB").format(size=MAX_UPLOAD_BYTES // 1024))


def has_classes(spec) -> bool:
    """Whether the model has a class count the *Classes* box can set."""
    return any(isinstance(l, Dense) and l.units is None for l in spec.layers) or bool(spec.aux_heads)


def options_ui(box, spec) -> None:
    """The input size, the class count, the LRN and auxiliary-classifier switches."""
    box.caption(_("Sizes everywhere are height × width (× channels)."))
    keys = {n: wkey(f"opt-{n}") for n in ("height", "width", "channels", "classes", "lrn", "aux")}
    if not has_classes(spec):
        keys.pop("classes")
    c1, c2, c3 = box.columns(3)
    h, w, c = spec.input_shape
    c1.number_input(_("Height"), 1, 4096, h, 1, key=keys["height"], on_change=_on_options, args=(keys,))
    c2.number_input(_("Width"), 1, 4096, w, 1, key=keys["width"], on_change=_on_options, args=(keys,))
    c3.number_input(_("Channels"), 1, 64, c, 1, key=keys["channels"], on_change=_on_options, args=(keys,))
    if "classes" in keys:
        box.number_input(_("Classes"), 1, 100_000, spec.classes, 1, key=keys["classes"], on_change=_on_options, args=(keys,))
    # a preset without LRN layers (or aux heads) shows its box unticked and disabled: a
    # ticked box would claim layers the model does not have
    lrn = has_lrn(spec)
    box.checkbox(_("LRN layers"), spec.lrn and lrn, key=keys["lrn"], on_change=_on_options, args=(keys,), disabled=not lrn,
                 help=_("Local response normalisation after conv1/pool1 and conv2 (Caffe semantics)") if lrn
                 else _("The {preset} preset has no LRN layers").format(preset=spec.preset))
    box.checkbox(_("Auxiliary classifiers"), spec.aux and bool(spec.aux_heads), key=keys["aux"], on_change=_on_options, args=(keys,),
                 disabled=not spec.aux_heads,
                 help=_("The paper's two training-only side heads on 4a and 4d") if spec.aux_heads
                 else _("The {preset} preset has no auxiliary classifiers").format(preset=spec.preset))


def focus_block(spec) -> str | None:
    """The block in focus: the sidebar selector's value (its key is per preset), the first
    block when the selector has none yet or names a block this model does not have."""
    if not spec.blocks:
        return None
    chosen = st.session_state.get(FOCUS_KEY.format(preset=spec.preset))
    return chosen if chosen in spec.block_names else spec.block_names[0]
