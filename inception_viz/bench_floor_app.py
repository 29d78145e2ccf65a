"""The floor for ``python -m inception_viz bench --browser``: Streamlit's own round trip.

One number box and one metric, nothing else, served as the explorer is: with the same
``.streamlit/config.toml`` and ``inception_viz.st_compat``'s server adjustments (``bench
--browser`` starts it with ``python -m inception_viz.st_compat run``; the explorer installs
them when its server starts). Typing a value and pressing Enter shows it in the metric; the time
that takes in a real browser is the least any Streamlit page answers an edit in on this
machine, so the explorer's browser times are reported as multiples of it. ``bench_browser``
drives it by the two labels below and its starting value (keep them in step with
``FLOOR_*`` there). Like ``app.py``, it holds an ``st.App``, so that ``streamlit run`` serves
it the same way (through that app; without a lifespan: ``st_compat`` is installed before
its server starts).

    python -m inception_viz.st_compat run inception_viz/bench_floor_app.py
"""

import streamlit as st

if __name__ == "__main__":  # a script run
    value = st.number_input("Value", min_value=0, max_value=1_000_000, value=1000, step=1)
    st.metric("Value shown", f"{value:,}")
else:  # imported by `streamlit run` to find `app`: served through st.App, as app.py is
    app = st.App(__file__)
