"""Transforms: functions from model to model (notes mode, typography, emphasis)."""
