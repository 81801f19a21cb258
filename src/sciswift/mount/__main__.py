"""``python -m sciswift.mount CONFIG_JSON``: the mount process that
``sciswift mount`` starts in the background (see ``sciswift.mount.daemon``)."""

import sys

from sciswift.mount.daemon import main

sys.exit(main())
