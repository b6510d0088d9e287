import sys

from pverunbook.cli import main

sys.exit(main())
