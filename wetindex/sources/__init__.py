"""Inputs of an area: connectors per provider, harmonised onto the area grid."""
