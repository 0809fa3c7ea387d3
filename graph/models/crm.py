"""Customer insights: tier rules and history, lifecycle stages, visit plans."""

from __future__ import annotations
