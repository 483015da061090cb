"""`python -m healstack` is the `healstack` command."""

import sys

from healstack.cli import main

sys.exit(main())
