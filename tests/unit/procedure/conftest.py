import sys
from pathlib import Path

# The shared facts of the procedure tests live beside them (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).parent))
