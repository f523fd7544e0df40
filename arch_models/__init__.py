"""Hardware models: the description format, the device catalog and the unit models.

``arch_models.spec`` reads and validates architecture descriptions (YAML, format version
1) against the sourced device catalog (``arch_models.catalog``); ``arch_models.units``
holds the SimPy unit models of the FPGA blocks and their registry, with energy
(``arch_models.energy``) and resource (``arch_models.resources``) models; the GPU model
(``arch_models.gpu_model``) prices a step's kernels. Knows nothing of ``workloads``: the
engine (``cosim``) joins the two through the trace schema and the validated spec.
"""
