"""The simulation library: building and running simulators (runner, toolchain), hex files, lint, area,
the shared figures (constants) and integer helpers (arith).

Depends on nothing else in sim/; the designs and the flow build on it.
"""
