"""Per-user licensing: a signed licence file, the partner's HTTP licensing service, or development mode.

See docs/licensing.md. `service.licensing` is the daemon's cleanup context;
`service.require_licence` guards Search and DoAction.
"""
