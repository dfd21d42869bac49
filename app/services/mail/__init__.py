"""Mail: the outbox, what each event sends, and rendering a message from its template."""
