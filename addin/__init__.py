"""AchieveIt Progress Updates for Excel: validate, export, submit and track progress updates.

Kept import-free: every ribbon click starts a fresh Python process that imports this package.
"""

__version__ = "0.1.0"
