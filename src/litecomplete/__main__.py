import sys

from litecomplete.cli import main

sys.exit(main())
