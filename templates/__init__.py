"""The Jinja2 templates (pages, emails, stylesheet): shipped in the wheel as `feedsvc.templates`."""
