"""Allow ``python -m cosim``."""

from cosim.cli import main

raise SystemExit(main())
