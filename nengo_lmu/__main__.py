import sys

from nengo_lmu.cli import main

sys.exit(main())
