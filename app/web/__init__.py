"""Request plumbing and nothing else: dependencies, form bodies, the public-form guard, CSRF,
middleware, the page cache, templating. Routes use it; services never import it."""
