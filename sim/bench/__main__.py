import sys

from .write import main

sys.exit(main())
