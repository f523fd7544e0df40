"""Allow ``python -m cosim_cli`` (the same as the ``cosim`` command)."""

from cosim_cli.main import main

raise SystemExit(main())
