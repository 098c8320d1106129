"""``python -m cli``: the same command as ``sanarip``."""

from cli.main import main

main()
