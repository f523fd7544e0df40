"""Writing files safely: the one atomic writer and the one JSON encoder of the project.

Below every other package (it imports only the standard library), so the functional
model's traces, the engine's results, the explorer's exports and the GPU harness's
baseline files are all written the same way: under a temporary name beside the target,
then renamed, so a reader never sees half a file and an interrupted write leaves the old
one in place.
"""

from safeio.files import atomic_file, atomic_folder, recover_folder, write_atomic
from safeio.jsonsafe import dumps, json_safe

__all__ = [
    "atomic_file",
    "atomic_folder",
    "dumps",
    "json_safe",
    "recover_folder",
    "write_atomic",
]
