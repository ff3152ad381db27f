"""seized: evidence and forensic triage for disk images of seized servers."""
from caseformat.manifest import tool_version

__version__ = tool_version()
