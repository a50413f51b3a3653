"""Where an area's configuration lives in a project folder, and loading it by name.

An area is one file, ``areas/<name>.yaml`` under the project folder; the built-in
``demo`` area needs none. The command line and the Prefect flows both load areas
here, so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

from wetindex.config import AreaConfig, demo_config, load_config

AREAS_DIR = "areas"


def area_file(root: Path, name: str) -> Path:
    """The configuration file of area ``name`` under the project folder ``root``."""
    return Path(root) / AREAS_DIR / f"{name}.yaml"


def load_area(root: Path, name: str) -> AreaConfig:
    """An area's configuration by name (``areas/<name>.yaml``) or path; ``demo`` is built in.

    Raises
    ------
    wetindex.config.ConfigError
        The file is missing or invalid (the message names the file and the fix).
    """
    path = Path(name) if name.endswith((".yaml", ".yml")) else area_file(root, name)
    if name == "demo" and not path.exists():
        return demo_config()
    return load_config(path)
