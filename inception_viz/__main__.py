"""``python -m inception_viz``: see :mod:`inception_viz.cli`."""

import sys

from .cli import main

sys.exit(main())
