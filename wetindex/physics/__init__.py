"""A physically based flood forecast that needs no labels.

A new area warns from its first day with this forecast; the learned model takes over
when it has been trained on the area's own observed water and has passed its gate
(:mod:`wetindex.physics.selection`). Modules:

- :mod:`~wetindex.physics.uncertainty`: spread of the driver forecasts by lead, from the
  area's own forecast errors where it has them, a documented default otherwise, and the
  ensemble of perturbed driver series made from it;
- :mod:`~wetindex.physics.sea`: the sea over the terrain, dikes holding to their crest;
- :mod:`~wetindex.physics.pluvial`: bluespots filling and spilling along the flow network;
- :mod:`~wetindex.physics.streams`: streams rising over low-HAND cells, and groundwater
  reaching the surface;
- :mod:`~wetindex.physics.forecast`: the forecast dataset (``probability``, ``level`` on
  ``(lead, y, x)``), the same shape as the learned model's;
- :mod:`~wetindex.physics.compare`: event-level comparison with the learned model.
"""

#: What the forecast is, in plain words (model card, status.json, the site's About page).
PHYSICAL_NOTE = ("Physically based, not yet trained on observed water here: the forecast "
                 "floods the land the forecast sea level reaches (dikes hold up to their "
                 "crest), fills hollows with forecast rain, raises streams and the water "
                 "table, and turns the uncertainty of the weather and sea forecasts into "
                 "probabilities.")

#: The same in Danish, for the Danish pages of the site.
PHYSICAL_NOTE_DA = ("Fysisk baseret, endnu ikke trænet på observeret vand her: prognosen "
                    "oversvømmer det land, som den forventede vandstand når (diger holder op "
                    "til kronen), fylder lavninger med den forventede regn, lader vandløb og "
                    "grundvand stige og gør usikkerheden i vejr- og vandstandsprognoserne til "
                    "sandsynligheder.")
