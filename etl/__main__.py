"""`python -m etl` runs the ETL command line."""

import sys

from etl.cli import main

sys.exit(main())
