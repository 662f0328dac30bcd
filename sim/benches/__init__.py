"""cocotb test modules, run through :mod:`sim.runner` (never imported by pytest directly)."""
