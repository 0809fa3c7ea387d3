"""Early warnings: graded alerts about a customer relationship, raised by rules."""

from __future__ import annotations
