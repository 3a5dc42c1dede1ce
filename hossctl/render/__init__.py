"""Showing results to people and programs: text, Markdown, JSON, YAML export, pictures, progress.

Renderers take computed values and return text; they never decide anything.
"""
