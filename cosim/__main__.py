"""Allow ``python -m cosim``: the ``cosim`` command (:mod:`cosim_cli`) under its old name.

This launcher is run, never imported, so the engine itself still knows nothing above it;
the layer contract names it as the one exception.
"""

from cosim_cli.main import main

raise SystemExit(main())
