"""Relationship records: satisfaction survey campaigns and responses, sales opportunities."""

from __future__ import annotations
