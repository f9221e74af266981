"""Renderers: text (terminal), markdown, html, json and the timeline."""
