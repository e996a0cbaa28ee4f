"""One blueprint per page group; each view calls coder.services and renders a template."""
