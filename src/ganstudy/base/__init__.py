"""The ground floor, which every wing may use and which uses none: errors, atomic writes,
the one registry class, plugin loading, the user cache's path, failpoints for the fault
tests, and the git commit a study was run from."""
