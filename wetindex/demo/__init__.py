"""The synthetic demo world: a seeded coastal area near Jammerbugt with its weather,
sea, groundwater, true flood water, satellite observations and incident reports.

It stands in for the real sources offline; tests, the demo run and the model's first
verification run on it. Build one with :func:`build_demo_world`.
"""

from wetindex.demo.terrain import LAND_COVER, Place
from wetindex.demo.world import COMPONENTS, DemoWorld, DemoWorldConfig, build_demo_world

__all__ = ["COMPONENTS", "LAND_COVER", "DemoWorld", "DemoWorldConfig", "Place",
           "build_demo_world"]
