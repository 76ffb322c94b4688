"""Shared test builders."""

from __future__ import annotations
