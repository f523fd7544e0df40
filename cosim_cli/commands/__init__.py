"""One module per ``cosim`` subcommand; each defines ``register(subparsers)``."""
