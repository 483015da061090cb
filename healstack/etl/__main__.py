"""`python -m healstack.etl` (and `healstack etl`) runs the ETL command line."""

import sys

from healstack.etl.cli import main

sys.exit(main())
