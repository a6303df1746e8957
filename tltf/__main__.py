"""``python -m tltf``: see tltf.cli."""

import sys

from tltf.cli import main

sys.exit(main())
