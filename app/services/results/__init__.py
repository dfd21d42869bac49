"""Results: winners confirmed, published revisions, the public pages and files built from them."""
