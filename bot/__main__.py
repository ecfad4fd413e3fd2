"""`python -m bot`: the command name CONTRACT.md fixes. The commands live in the composition
root (`clubbot.cli`), which alone may import every layer (the web app with the chat's handlers,
the embedded scheduler)."""

import sys

from clubbot.cli import main

if __name__ == "__main__":
    sys.exit(main())
