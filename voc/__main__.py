"""``python -m voc``: the ``voc`` command, as from a shell."""

import sys

from voc import main

sys.exit(main())
