"""wetindex: local flood warnings 48 hours ahead, cell by cell, from open data."""

__version__ = "0.1.0"
