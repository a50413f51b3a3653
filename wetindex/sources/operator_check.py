"""What ``wetindex check`` says about an area's own files: sea, dikes, protected land, water.

The operator sees what the product found in the files, with counts, before any run:
the sea (cells, km², how it was found), the dikes (lines, km, crest range, gaps), the land
they protect, the permanent water and streams. A coastal area (one with a sea-level
input) where no sea was found gets a warning: its sea flooding would be silently off.
"""

from __future__ import annotations

import numpy as np

from wetindex.features.terrain import dike_protection
from wetindex.sources.sea_mask import sea_summary
from wetindex.sources.water_layers import water_summary

#: a note starting with this is shown by ``check`` as a warning (not blocking)
WARNING = "WARNING: "


def static_report(inputs, static=None) -> tuple[list[str], list[str]]:
    """``(problems, notes)`` for a local-files view (:class:`~wetindex.sources.local.LocalInputs`).

    Parameters
    ----------
    inputs : LocalInputs
        The area's inputs (its terrain is read again unless ``static`` is given).
    static : xr.Dataset, optional
        ``inputs.static_inputs()`` when already read.
    """
    static = inputs.static_inputs() if static is None else static
    g = inputs.grid
    sea = np.asarray(static["sea"].values, bool)
    crest = static["dike_crest"]
    protected = np.zeros(g.shape, bool)
    if np.isfinite(crest.values).any():
        protected = np.asarray(dike_protection(static["elevation"], static["sea"], crest)
                               ["dike_protected"].values, bool)
    problems: list[str] = []
    notes = sea_summary(sea, inputs._inside, protected, g.cell_size, inputs.sea_how)
    layer = inputs.dike_layer
    notes += layer.summary()
    notes += [WARNING + gap for gap in layer.gaps]
    spec = inputs.spec
    notes += water_summary(np.asarray(static["permanent_water"].values, bool),
                           np.asarray(static["stream"].values, bool), g.cell_size,
                           {"water": spec.water is not None, "streams": spec.streams is not None})
    coastal = spec.sea_level is not None and spec.sea_level.path is not None
    if coastal and not sea.any():
        notes.append(WARNING + "a sea level is given but no sea was found in the terrain (no "
                     f"cell at or below {spec.sea_below_m:g} m or nodata connected to the "
                     "grid's edge): sea flooding is off. Give the sea as polygons "
                     "(--input sea=FILE) or set inputs.sea_below_m")
    if layer.n_lines and not protected.any():
        notes.append(WARNING + "dikes are given but protect no land from the sea found here; "
                     "check the dike file and the sea")
    return problems, notes
