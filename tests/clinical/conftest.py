"""Make the repo-root packages importable when pytest runs without project config.

The lead's pyproject (``pythonpath = ["."]``) makes this redundant; it is kept
local to tests/clinical so it cannot affect other test suites.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
