"""Inception Explorer: take Inception V1 (GoogLeNet) apart live."""

__version__ = "0.1.0"
