"""``python -m zoobot.cli``: the ``zoobot`` command without its console script."""

import sys

from zoobot.cli import main

sys.exit(main())
