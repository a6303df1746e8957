"""Helpers that belong to one lesson: imported by that notebook only (``from lessons.NAME import ...``).

Code used by two or more notebooks, or by the command line, lives in the ``tltf`` package instead.
"""
