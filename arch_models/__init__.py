"""Hardware models: architecture descriptions, the device catalog, and (later) SimPy units.

Knows nothing of ``workloads``; ``cosim`` joins the two through the trace schema and the
validated spec.
"""
