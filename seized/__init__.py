"""seized: evidence and forensic triage for disk images of seized servers."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seized")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
