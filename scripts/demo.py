"""`make demo`: initialise the embedded defaults and serve the web front end.

(The full simulated-livestream walkthrough is built in the end-to-end issue.)
"""

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
subprocess.run([BIN / "sanarip", "init"], check=True)
subprocess.run([BIN / "sanarip", "serve"], check=False)
