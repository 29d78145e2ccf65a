"""Inception Explorer: take Inception V1 (GoogLeNet) apart live."""

from . import tfenv as _tfenv

# TensorFlow's environment settings, before any module of the package (or the app) imports
# TensorFlow: see inception_viz/tfenv.py.
_tfenv.configure()

__version__ = "0.1.0"
